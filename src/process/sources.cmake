# The process pool (issue 3): included by the top-level CMakeLists.txt.
target_sources(concurrent_futures PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/image.cpp
  ${CMAKE_CURRENT_LIST_DIR}/io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/remote_exception.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wire.cpp
  ${CMAKE_CURRENT_LIST_DIR}/worker.cpp
)
# dladdr/dlsym resolve functions that live in shared libraries.
target_link_libraries(concurrent_futures PRIVATE ${CMAKE_DL_LIBS})
