# SPDX-License-Identifier: Apache-2.0
# Proves the runtime archive references no heap or exception machinery: lists its undefined
cmake_policy(VERSION 3.25)
# symbols with nm and fails on any allocation, deallocation or throw. Run by ctest.
# Whole symbol names are matched, so sanitizer hooks such as __asan_stack_malloc_0 (stack
# instrumentation, not heap use) do not count.
execute_process(COMMAND ${NM} -u -C ${LIBRARY} OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" lines "${undefined}")
set(forbidden_exact malloc calloc realloc free aligned_alloc posix_memalign memalign valloc
    __cxa_throw __cxa_allocate_exception __cxa_begin_catch __cxa_end_catch __cxa_rethrow
    __gxx_personality_v0 _Unwind_Resume)
set(found "")
set(seen "")
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  if(NOT line MATCHES "^U (.+)$")
    continue()
  endif()
  set(symbol "${CMAKE_MATCH_1}")
  list(APPEND seen "${symbol}")
  if(symbol IN_LIST forbidden_exact OR symbol MATCHES "^operator (new|delete)"
     OR symbol MATCHES "^typeinfo ")
    list(APPEND found "${symbol}")
  endif()
endforeach()
if(found)
  list(REMOVE_DUPLICATES found)
  message(FATAL_ERROR "the runtime references forbidden symbols: ${found}")
endif()
if(NOT seen)
  message(FATAL_ERROR "nm listed no undefined symbols at all; the check would prove nothing")
endif()
list(REMOVE_DUPLICATES seen)
list(FILTER seen EXCLUDE REGEX "^(statepack::|spk_|__asan|__ubsan)")
message(STATUS "external symbols the runtime needs (all allowed): ${seen}")
