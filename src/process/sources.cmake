# The process pool (issue 3): included by the top-level CMakeLists.txt. pool.cpp opens
# with the data-flow diagram and a map of these files.
target_sources(concurrent_futures PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/call_size.cpp
  ${CMAKE_CURRENT_LIST_DIR}/child.cpp
  ${CMAKE_CURRENT_LIST_DIR}/deaths.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dispatch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fork_safety.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fork_server.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image.cpp
  ${CMAKE_CURRENT_LIST_DIR}/io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/loop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/own_result.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/remote_exception.cpp
  ${CMAKE_CURRENT_LIST_DIR}/results.cpp
  ${CMAKE_CURRENT_LIST_DIR}/startup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/timeouts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wire.cpp
  ${CMAKE_CURRENT_LIST_DIR}/worker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/worker_calls.cpp
)
# dladdr/dlsym resolve functions that live in shared libraries.
target_link_libraries(concurrent_futures PRIVATE ${CMAKE_DL_LIBS})
