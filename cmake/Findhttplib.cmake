# Finds cpp-httplib as the imported target httplib::httplib. Upstream installs a CMake
# package (httplibConfig.cmake), used when present; Debian 12's libcpp-httplib-dev ships
# only pkg-config's cpp-httplib.pc (with a compiled libcpp-httplib), so this module falls
# back to pkg-config.
find_package(httplib CONFIG QUIET)
if(NOT httplib_FOUND)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_httplib QUIET IMPORTED_TARGET cpp-httplib)
  endif()
  if(PC_httplib_FOUND AND NOT TARGET httplib::httplib)
    add_library(httplib::httplib INTERFACE IMPORTED)
    target_link_libraries(httplib::httplib INTERFACE PkgConfig::PC_httplib)
  endif()
  include(FindPackageHandleStandardArgs)
  find_package_handle_standard_args(httplib REQUIRED_VARS PC_httplib_LINK_LIBRARIES
                                    VERSION_VAR PC_httplib_VERSION)
endif()
