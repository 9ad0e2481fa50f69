# cmake/manpage.cmake - write one man page: `cmake -DBIN=<exe> -DOUT=<page> -P`.
# The page is what <exe> -help-man prints: the same table as its -h
# (dns/manpage.h). Written to a temporary file first so a failed run leaves
# no half page that make would take as up to date.
execute_process(COMMAND "${BIN}" -help-man OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${BIN} -help-man failed (${rc}): ${err}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
