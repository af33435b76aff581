include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS concurrent_futures EXPORT concurrent_futures_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_cf_config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/concurrent_futures)
install(EXPORT concurrent_futures_targets
  NAMESPACE concurrent::
  FILE concurrent_futures-targets.cmake
  DESTINATION ${_cf_config_dir})

configure_package_config_file(cmake/concurrent_futures-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/concurrent_futures-config.cmake
  INSTALL_DESTINATION ${_cf_config_dir})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/concurrent_futures-config-version.cmake
  COMPATIBILITY SameMinorVersion)  # 0.x: a minor release may break the API
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/concurrent_futures-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/concurrent_futures-config-version.cmake
  DESTINATION ${_cf_config_dir})

# Consumers may also point find_package at the build tree.
export(EXPORT concurrent_futures_targets
  NAMESPACE concurrent::
  FILE ${CMAKE_CURRENT_BINARY_DIR}/concurrent_futures-targets.cmake)

# MPIPoolExecutor's library, when it was built: an export set of its own, so that the
# package needs MPI only for consumers of the mpi component.
if(TARGET concurrent_futures_mpi)
  install(TARGETS concurrent_futures_mpi EXPORT concurrent_futures_mpi_targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT concurrent_futures_mpi_targets
    NAMESPACE concurrent::
    FILE concurrent_futures_mpi-targets.cmake
    DESTINATION ${_cf_config_dir})
  export(EXPORT concurrent_futures_mpi_targets
    NAMESPACE concurrent::
    FILE ${CMAKE_CURRENT_BINARY_DIR}/concurrent_futures_mpi-targets.cmake)
endif()
