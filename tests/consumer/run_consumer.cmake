# Builds and runs the consumer project against resilinet, either installed (find_package) or
# embedded (add_subdirectory). Invoked by ctest with -P.
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S ${RESILINET_SOURCE} -B ${WORK}/lib -DCMAKE_INSTALL_PREFIX=${WORK}/prefix
      -DRESILINET_BUILD_TESTS=OFF -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF)
  run(${CMAKE_COMMAND} --install ${WORK}/lib)
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/app -DCMAKE_PREFIX_PATH=${WORK}/prefix)
else()
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/app -DRESILINET_SUBDIR=${RESILINET_SOURCE})
endif()
run(${CMAKE_COMMAND} --build ${WORK}/app)
run(${WORK}/app/consumer)
