// concurrent::futures: Python's concurrent.futures for C++20.
//
// Everything in one include; each part also has its own header under
// concurrent/futures/.
#pragma once

#include "concurrent/futures/call_options.hpp"
#include "concurrent/futures/coroutine.hpp"
#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/future.hpp"
#include "concurrent/futures/map_options.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "concurrent/futures/version.hpp"
#include "concurrent/futures/wait.hpp"
