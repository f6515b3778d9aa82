# Builds and runs the consumer project against resilinet: installed (find_package), found in
# its build tree (build_tree: -Dresilinet_DIR=<build folder>), embedded (add_subdirectory, or
# fetch_content: FetchContent from the repository's committed HEAD),
# installed and built with pkg-config's flags (pkg_config), or with the README's plain g++
# command (plain_gpp). Invoked by ctest with -P.
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
# Configures the library alone in WORK/lib (installing into WORK/prefix) and installs it.
function(install_lib)
  run(${CMAKE_COMMAND} -S ${RESILINET_SOURCE} -B ${WORK}/lib -DCMAKE_INSTALL_PREFIX=${WORK}/prefix
      -DRESILINET_BUILD_TESTS=OFF -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF)
  run(${CMAKE_COMMAND} --install ${WORK}/lib)
endfunction()
if(MODE STREQUAL "find_package")
  install_lib()
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/app -DCMAKE_PREFIX_PATH=${WORK}/prefix)
elseif(MODE STREQUAL "pkg_config")  # installed, then built with pkg-config's flags, no CMake
  install_lib()
  set(ENV{PKG_CONFIG_PATH} ${WORK}/prefix/share/pkgconfig)
  execute_process(COMMAND pkg-config --cflags --libs resilinet OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs resilinet failed (${rc})")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY ${WORK}/app)
  run(g++ -O2 ${CONSUMER_SOURCE}/main.cpp -o ${WORK}/app/consumer ${flags})
elseif(MODE STREQUAL "plain_gpp")  # the README's command line, no CMake
  file(MAKE_DIRECTORY ${WORK}/app)
  run(g++ -std=c++17 -O2 -I${RESILINET_SOURCE}/include -I/usr/include/eigen3 ${CONSUMER_SOURCE}/main.cpp
      -o ${WORK}/app/consumer -lopenblas -lz -lturbojpeg)
elseif(MODE STREQUAL "build_tree")
  run(${CMAKE_COMMAND} -S ${RESILINET_SOURCE} -B ${WORK}/lib
      -DRESILINET_BUILD_TESTS=OFF -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF)
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/app -Dresilinet_DIR=${WORK}/lib)
elseif(MODE STREQUAL "fetch_content")  # the repository's committed HEAD, as a user's FetchContent
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/app -DRESILINET_GIT=${RESILINET_SOURCE})
else()
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/app -DRESILINET_SUBDIR=${RESILINET_SOURCE})
endif()
if(NOT MODE MATCHES "^(plain_gpp|pkg_config)$")
  run(${CMAKE_COMMAND} --build ${WORK}/app)
endif()
run(${WORK}/app/consumer)
