# Builds and runs the consumer in tests/package against this build of the library.
#   cmake -DMODE=install|build-tree|subdirectory -DCF_SOURCE_DIR=... -DCF_BINARY_DIR=...
#         -DWORK_DIR=... -DCXX=... -P run.cmake
file(REMOVE_RECURSE "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "install")
  run(${CMAKE_COMMAND} --install "${CF_BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
  set(consumer_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
elseif(MODE STREQUAL "build-tree")
  set(consumer_args "-Dconcurrent_futures_DIR=${CF_BINARY_DIR}")
elseif(MODE STREQUAL "subdirectory")
  set(consumer_args "-DCF_SOURCE_DIR=${CF_SOURCE_DIR}")
else()
  message(FATAL_ERROR "MODE must be install, build-tree or subdirectory, not '${MODE}'")
endif()

run(${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}" -B "${WORK_DIR}/build" -G Ninja
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=${CXX}" ${consumer_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
message(STATUS "${last_output}")
if(NOT last_output MATCHES "consumer: 42.*consumer future: <Future at 0x[0-9a-f]+ state=finished returned int>")
  message(FATAL_ERROR "the consumer printed '${last_output}', expected 'consumer: 42' and "
                      "the future's repr")
endif()
