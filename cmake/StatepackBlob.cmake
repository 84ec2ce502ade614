# SPDX-License-Identifier: Apache-2.0
# statepack_add_blob: pack a checkpoint at build time and link it into a target as a const array.
#
#   statepack_add_blob(TARGET app NAME model INPUT model.pt [more inputs...]
#                      [ARGS --quant int8 --checksum xxh32 ...] [SECTION .rodata.model]
#                      [FORMAT c|incbin])
#
# Runs `statepack pack INPUT... -o NAME.spk ARGS...` and `statepack embed NAME.spk -o NAME.c
# --symbol NAME [--section SECTION]` in ${CMAKE_CURRENT_BINARY_DIR}/statepack_blobs, adds
# NAME.c to the target's sources and that directory to its include path, so the target uses
#
#   #include "model.h"   /* extern const unsigned char model[N]; extern const size_t model_size; */
#
# FORMAT incbin (`embed --format incbin`) generates NAME.S instead, which the assembler builds by
# reading NAME.spk itself (.incbin): under a second and about the blob's size in memory (100 MB:
# 0.7 s, 104 MiB), where the C array (FORMAT c, the default) costs the compiler about 130 times
# the blob's size in memory and minutes of CPU (12 MB: 26 s, 1.8 GB; 100 MB: 13 GB;
# bench/embed_compile_bench.sh). Use it for anything beyond a few MB; its project must enable
# ASM (`project(app C ASM)`), which any gcc or clang toolchain, arm-none-eabi included, has.
#
# The blob is rebuilt when an input, the statepack tool or the ARGS/SECTION/FORMAT change (they
# are recorded in NAME.args, which is rewritten only when they differ).
# The target's project must enable C (the generated header is C).
#
# The tool: the `statepack::statepack` or `statepack` target when one exists (installed package
# or this source tree), else STATEPACK_EXECUTABLE (e.g. a host build's tools/statepack passed
# to a cross build, which cannot run what it compiles).
include_guard(GLOBAL)

function(statepack_add_blob)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "TARGET;NAME;SECTION;FORMAT" "INPUT;ARGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "statepack_add_blob: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  foreach(required TARGET NAME INPUT)
    if(NOT arg_${required})
      message(FATAL_ERROR "statepack_add_blob: ${required} is required")
    endif()
  endforeach()
  if(NOT TARGET ${arg_TARGET})
    message(FATAL_ERROR "statepack_add_blob: ${arg_TARGET} is not a target")
  endif()
  if(NOT arg_NAME MATCHES "^[A-Za-z][A-Za-z0-9_]*$")
    message(FATAL_ERROR "statepack_add_blob: NAME must be a C identifier, got '${arg_NAME}'")
  endif()
  if(NOT DEFINED arg_FORMAT)
    set(arg_FORMAT c)
  endif()
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(arg_FORMAT STREQUAL "c")
    set(extension c)
    if(NOT "C" IN_LIST languages)
      message(FATAL_ERROR "statepack_add_blob: enable C in project() (the embedded blob is C source)")
    endif()
  elseif(arg_FORMAT STREQUAL "incbin")
    set(extension S)
    if(NOT "ASM" IN_LIST languages)
      message(FATAL_ERROR "statepack_add_blob: FORMAT incbin needs ASM in project() (the blob "
                          "is included by an assembler file)")
    endif()
  else()
    message(FATAL_ERROR "statepack_add_blob: FORMAT must be c or incbin, got '${arg_FORMAT}'")
  endif()

  if(TARGET statepack::statepack)
    set(tool statepack::statepack)
    set(tool_dependency statepack::statepack)
  elseif(TARGET statepack)
    set(tool statepack)
    set(tool_dependency statepack)
  elseif(STATEPACK_EXECUTABLE)
    set(tool "${STATEPACK_EXECUTABLE}")
    set(tool_dependency "${STATEPACK_EXECUTABLE}")
  else()
    message(FATAL_ERROR "statepack_add_blob: no statepack tool: find_package(statepack), build "
                        "this tree with STATEPACK_BUILD_TOOLS, or set STATEPACK_EXECUTABLE")
  endif()

  set(inputs "")
  foreach(input IN LISTS arg_INPUT)
    get_filename_component(input "${input}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND inputs "${input}")
  endforeach()

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/statepack_blobs")
  set(blob "${dir}/${arg_NAME}.spk")
  set(source "${dir}/${arg_NAME}.${extension}")
  set(header "${dir}/${arg_NAME}.h")
  set(stamp "${dir}/${arg_NAME}.args")
  set(embed_section "")
  if(DEFINED arg_SECTION)
    set(embed_section --section "${arg_SECTION}")
  endif()
  # The options are also recorded in a file that is rewritten only when they change, and the
  # command depends on it: a changed option re-packs whether or not the generator tracks
  # command lines.
  string(JOIN "\n" options "inputs: ${inputs}" "args: ${arg_ARGS}" "section: ${arg_SECTION}"
              "format: ${arg_FORMAT}" "")
  set(recorded "")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" recorded)
  endif()
  if(NOT recorded STREQUAL options)
    file(WRITE "${stamp}" "${options}")
  endif()

  add_custom_command(
    OUTPUT "${source}" "${header}" "${blob}"
    COMMAND ${tool} pack ${inputs} -o "${blob}" ${arg_ARGS}
    COMMAND ${tool} embed "${blob}" -o "${source}" --symbol ${arg_NAME} --format ${arg_FORMAT}
            ${embed_section}
    DEPENDS ${inputs} ${tool_dependency} "${stamp}"
    COMMENT "statepack: packing ${arg_NAME} for ${arg_TARGET}"
    VERBATIM)
  target_sources(${arg_TARGET} PRIVATE "${source}")
  if(arg_FORMAT STREQUAL "incbin")
    # The assembler reads the blob, which its dependency scan does not see.
    set_source_files_properties("${source}" PROPERTIES OBJECT_DEPENDS "${blob}")
  endif()
  target_include_directories(${arg_TARGET} PRIVATE "${dir}")
endfunction()
