# SPDX-License-Identifier: Apache-2.0
# Writes the man page statepack(1) from the CLI's own help: `statepack --help` for the synopsis
# and the list of subcommands, `statepack SUBCOMMAND --help` for each one's arguments. Run at
# build time (cmake/StatepackInstall.cmake), so a new option or subcommand is in the page with
# no second place to edit.
#
#   cmake -DSTATEPACK=path/to/statepack -DOUTPUT=statepack.1 -DVERSION=X.Y.Z -P StatepackManPage.cmake
foreach(required STATEPACK OUTPUT VERSION)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "StatepackManPage.cmake: -D${required}=... is required")
  endif()
endforeach()

# help(VAR ARGS...): the CLI's help text for ARGS, with the usage line naming `statepack` rather
# than the path it was run by.
function(help var)
  execute_process(COMMAND ${STATEPACK} ${ARGN} --help OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "StatepackManPage.cmake: `statepack ${ARGN} --help` failed (${rc})")
  endif()
  string(REPLACE "${STATEPACK}" "statepack" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

# roff(VAR TEXT): TEXT safe as roff input: backslashes printed as such, hyphens as the minus
# sign (so that options copied from the page work), no line taken for a request.
function(roff var text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "^([.'])" "\\\\&\\1" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

# help_to_roff(VAR TEXT): CLI11's help as man-page markup. Its layout: a description line, a
# usage line, then sections ("Options:") of entries indented by two spaces, each with its
# description from column 30 on the same line or (for a long entry) on the next.
function(help_to_roff var text)
  string(REPLACE ";" "\\;" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(out "")
  set(in_entry FALSE)
  foreach(line IN LISTS lines)
    if(line STREQUAL "")
      continue()
    elseif(line MATCHES "^Usage: (.*)$")
      roff(usage "${CMAKE_MATCH_1}")
      string(APPEND out ".PP\n.B Usage:\n${usage}\n")
    elseif(line MATCHES "^([A-Z][A-Za-z ]*):$")
      string(APPEND out ".PP\n.I ${CMAKE_MATCH_1}:\n")
      set(in_entry FALSE)
    elseif(line MATCHES "^                              +(.*)$")  # a description continued
      roff(description "${CMAKE_MATCH_1}")
      string(APPEND out "${description}\n")
    elseif(line MATCHES "^  ([^ ].*)$")
      set(entry "${CMAKE_MATCH_1}")
      set(description "")
      string(LENGTH "${line}" length)
      if(length GREATER 30)
        string(SUBSTRING "${line}" 28 2 gap)
        if(gap STREQUAL "  ")
          string(SUBSTRING "${line}" 2 26 entry)
          string(SUBSTRING "${line}" 30 -1 description)
          string(STRIP "${entry}" entry)
        endif()
      endif()
      roff(entry "${entry}")
      roff(description "${description}")
      string(APPEND out ".TP\n.B ${entry}\n")
      if(NOT description STREQUAL "")
        string(APPEND out "${description}\n")
      endif()
    else()
      roff(paragraph "${line}")
      string(APPEND out ".PP\n${paragraph}\n")
    endif()
  endforeach()
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

help(top)
# The subcommands, in the order --help lists them.
string(REGEX MATCH "\nSubcommands:\n(.*)$" _ "${top}")
string(REPLACE "\n" ";" subcommand_lines "${CMAKE_MATCH_1}")
set(subcommands "")
foreach(line IN LISTS subcommand_lines)
  if(line MATCHES "^  ([a-z][a-z0-9-]*) ")
    list(APPEND subcommands "${CMAKE_MATCH_1}")
  endif()
endforeach()
if(NOT subcommands)
  message(FATAL_ERROR "StatepackManPage.cmake: no subcommands in `statepack --help`")
endif()
string(REGEX MATCH "^[^\n]*" title "${top}")
string(REGEX REPLACE "^statepack [^:]*: " "" title "${title}")

set(page ".TH STATEPACK 1 \"\" \"statepack ${VERSION}\" \"User Commands\"\n")
roff(title_roff "${title}")
string(APPEND page ".SH NAME\nstatepack \\- ${title_roff}\n")
string(APPEND page ".SH SYNOPSIS\n")
foreach(subcommand IN LISTS subcommands)
  string(APPEND page ".B statepack ${subcommand}\n.RI [ OPTIONS ]\n.br\n")
endforeach()
string(APPEND page ".B statepack\n.RB [ \\-\\-help | \\-\\-version ]\n")
string(APPEND page ".SH DESCRIPTION\n"
  "statepack packs the weights of a trained neural network (PyTorch, safetensors, NumPy) into "
  "one checksummed blob that a device reads in place through the heap-free statepack runtime "
  "(C API in statepack/statepack.h, linked from libstatepack_runtime.a).\n")
# The top help's first line repeats the title (NAME above).
string(FIND "${top}" "\n" first_newline)
math(EXPR body_start "${first_newline} + 1")
string(SUBSTRING "${top}" ${body_start} -1 top_body)
help_to_roff(top_roff "${top_body}")
string(APPEND page "${top_roff}")
string(APPEND page ".SH COMMANDS\n")
foreach(subcommand IN LISTS subcommands)
  help(sub_help ${subcommand})
  help_to_roff(sub_roff "${sub_help}")
  string(APPEND page ".SS ${subcommand}\n${sub_roff}")
endforeach()
string(APPEND page ".SH EXIT STATUS\n"
  ".TP\n.B 0\nsuccess (for verify: every check passed)\n"
  ".TP\n.B 1\nbad input or output: an unreadable, refused or damaged file, a failed check, a quality gate\n"
  ".TP\n.B 2\nusage error: an unknown option, a missing or malformed argument\n")
string(APPEND page ".SH FILES\n"
  "The blob format, the compatibility promise and the examples are under "
  "/usr/share/doc/statepack (for a package installed with the prefix /usr).\n")
string(APPEND page ".SH LICENSE\nApache License 2.0; see LICENSE beside this project's documentation.\n")
string(APPEND page ".SH VERSION\nThis page describes statepack ${VERSION}.\n")
file(WRITE "${OUTPUT}" "${page}")
