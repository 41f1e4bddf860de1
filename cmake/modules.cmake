# xl_module(NAME TARGET FACTORY): declares a protocol or plugin library whose factory function
# `void FACTORY(xl::ModuleRegistry&)` the server calls at start-up. The list is turned into
# builtin_modules.cc, as nginx's configure writes ngx_modules.c.
set_property(GLOBAL PROPERTY XL_MODULE_TARGETS "")
set_property(GLOBAL PROPERTY XL_MODULE_FACTORIES "")
function(xl_module target factory)
  set_property(GLOBAL APPEND PROPERTY XL_MODULE_TARGETS ${target})
  set_property(GLOBAL APPEND PROPERTY XL_MODULE_FACTORIES ${factory})
endfunction()

# xl_unit_test(NAME SOURCES... LIBS ...): one gtest executable registered with ctest, label unit.
function(xl_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

# xl_fuzzer(NAME SOURCE LIBS...): a libFuzzer target with -DXUELIANG_FUZZ=ON (clang). In normal
# builds the same target links a standalone driver and runs as a ctest (label unit) over the
# seeds in tests/data plus deterministic mutations, so every CI run exercises every parser.
function(xl_fuzzer name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE ${ARGN})
  if(XUELIANG_FUZZ)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    target_sources(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz/standalone_main.cc)
    add_test(NAME fuzz_replay_${name} COMMAND ${name} ${CMAKE_SOURCE_DIR}/tests/data)
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit TIMEOUT 300)
  endif()
endfunction()
