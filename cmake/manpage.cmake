# cmake/manpage.cmake - write one man page:
#   cmake -DBIN=<exe> -DOUT=<page.1.gz> -DGZIP=<gzip> -P manpage.cmake
# The page is what <exe> -help-man prints: the same table as its -h
# (dns/manpage.h), compressed with gzip -9n as Debian policy asks (-n: no
# name or time inside, the same bytes every build). Written to a temporary
# file first so a failed run leaves no half page that make takes as done.
execute_process(COMMAND "${BIN}" -help-man OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${BIN} -help-man failed (${rc}): ${err}")
endif()
execute_process(COMMAND "${GZIP}" -9nf "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${GZIP} -9n ${OUT}.tmp failed (${rc})")
endif()
file(RENAME "${OUT}.tmp.gz" "${OUT}")
