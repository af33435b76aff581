# MPIPoolExecutor (issue 13): the library concurrent_futures_mpi (target
# concurrent::futures_mpi), built only when CMake finds MPI; the core library never
# depends on MPI. Included by the top-level CMakeLists.txt; sets
# CONCURRENT_FUTURES_HAVE_MPI for the tests, examples and benchmarks.
# Not under ThreadSanitizer: Open MPI is not instrumented, and TSan reports lock-order
# inversions and races inside Open MPI's own components (mca_btl_tcp, while MPI_Init
# wires up the ranks) whatever the pool does; only a suppression of all of Open MPI would
# silence them, which would hide nothing less. Its tests run under every other preset
# (AddressSanitizer included).
if(CONCURRENT_FUTURES_SANITIZER STREQUAL "thread")
  message(STATUS "ThreadSanitizer: concurrent::futures_mpi (MPIPoolExecutor), its tests, "
                 "example and benchmark are not built (Open MPI is not instrumented)")
  set(CONCURRENT_FUTURES_HAVE_MPI OFF)
  return()
endif()
set(MPI_CXX_SKIP_MPICXX ON)  # the C API only: no deprecated C++ bindings
find_package(MPI COMPONENTS CXX)
if(NOT MPI_CXX_FOUND)
  message(STATUS "MPI not found: concurrent::futures_mpi (MPIPoolExecutor) is not built")
  set(CONCURRENT_FUTURES_HAVE_MPI OFF)
  return()
endif()
set(CONCURRENT_FUTURES_HAVE_MPI ON)

add_library(concurrent_futures_mpi
  ${CMAKE_CURRENT_LIST_DIR}/pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/runtime.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sends.cpp
  ${CMAKE_CURRENT_LIST_DIR}/worker.cpp
)
add_library(concurrent::futures_mpi ALIAS concurrent_futures_mpi)
target_link_libraries(concurrent_futures_mpi PUBLIC concurrent::futures PRIVATE MPI::MPI_CXX fmt::fmt)
# The process pool's private headers (wire format, worker loop, executable image).
target_include_directories(concurrent_futures_mpi PRIVATE ${PROJECT_SOURCE_DIR}/src)
set_target_properties(concurrent_futures_mpi PROPERTIES
  EXPORT_NAME futures_mpi
  OUTPUT_NAME concurrent_futures_mpi
  POSITION_INDEPENDENT_CODE ON)

# How the tests and examples run a program on three ranks (two workers): allowed as
# root (CI containers), on more ranks than cores, with idle ranks yielding the CPU.
set(CONCURRENT_FUTURES_MPI_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1)
# Under AddressSanitizer, without leak detection: Open MPI leaks at MPI_Finalize from
# components it has already unloaded, so the reports name no module a suppression could
# match; every other ASan and UBSan check stays on.
if(CONCURRENT_FUTURES_SANITIZER STREQUAL "address")
  list(APPEND CONCURRENT_FUTURES_MPI_ENV ASAN_OPTIONS=detect_leaks=0:abort_on_error=1)
endif()
set(CONCURRENT_FUTURES_MPIRUN_3 ${CMAKE_COMMAND} -E env ${CONCURRENT_FUTURES_MPI_ENV}
  ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 3 ${MPIEXEC_PREFLAGS})
