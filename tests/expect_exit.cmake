# Runs CMD (arguments separated by |) and fails unless its exit code is EXPECTED and, when given, its
# output contains CONTAINS. Usage: cmake -DCMD=... -DEXPECTED=1 [-DCONTAINS=...] -P expect_exit.cmake
string(REPLACE "|" ";" cmd "${CMD}")
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL EXPECTED)
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECTED}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED CONTAINS AND NOT out MATCHES "${CONTAINS}")
  message(FATAL_ERROR "output does not contain '${CONTAINS}':\n${out}")
endif()
