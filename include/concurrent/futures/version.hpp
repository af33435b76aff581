// The library's version, in one place (CMake reads it from here).
#pragma once

#define CONCURRENT_FUTURES_VERSION_MAJOR 0
#define CONCURRENT_FUTURES_VERSION_MINOR 1
#define CONCURRENT_FUTURES_VERSION_PATCH 0
#define CONCURRENT_FUTURES_VERSION_STRING "0.1.0"
