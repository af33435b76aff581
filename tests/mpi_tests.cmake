# MPIPoolExecutor's tests (issue 13), included by tests/CMakeLists.txt when MPI was
# found. Each runs under mpirun with three ranks (spawn: as an MPI singleton) and has a
# hard TIMEOUT, so that a hang fails instead of stalling CI. One mpirun runs a whole
# suite: starting a job costs about half a second.

# The executor suite (executor_test.cpp) over MPIPoolExecutor.
add_executable(mpi_executor_test executor_test.cpp)
target_compile_definitions(mpi_executor_test PRIVATE CONCURRENT_FUTURES_TEST_MPI)
target_link_libraries(mpi_executor_test PRIVATE
  concurrent::futures_mpi GTest::gtest GTest::gtest_main)
add_test(NAME mpi.executor_test
  COMMAND ${CONCURRENT_FUTURES_MPIRUN_3} $<TARGET_FILE:mpi_executor_test>)

add_executable(mpi_pool_test mpi_pool_test.cpp)
target_link_libraries(mpi_pool_test PRIVATE
  concurrent::futures_mpi MPI::MPI_CXX GTest::gtest GTest::gtest_main)
add_test(NAME mpi.pool_test
  COMMAND ${CONCURRENT_FUTURES_MPIRUN_3} $<TARGET_FILE:mpi_pool_test> --gtest_filter=MPIPool.*)
add_test(NAME mpi.spawn_test
  COMMAND ${CMAKE_COMMAND} -E env ${CONCURRENT_FUTURES_MPI_ENV}
    $<TARGET_FILE:mpi_pool_test> --gtest_filter=MPISpawn.*)

# A worker rank that dies ends the job (Open MPI's default): mpirun's message names it.
add_executable(mpi_rank_death mpi_rank_death.cpp)
target_link_libraries(mpi_rank_death PRIVATE concurrent::futures_mpi)
add_test(NAME mpi.rank_death COMMAND ${CONCURRENT_FUTURES_MPIRUN_3} $<TARGET_FILE:mpi_rank_death>)
set_tests_properties(mpi.rank_death PROPERTIES PASS_REGULAR_EXPRESSION
  "(mpirun|mpiexec) noticed that process rank [12] with PID [0-9]+ on node [^ ]+ exited on signal 9")

set_tests_properties(mpi.executor_test mpi.pool_test mpi.spawn_test mpi.rank_death
  PROPERTIES TIMEOUT 120)
# Not under ThreadSanitizer: src/mpi/sources.cmake says why.
