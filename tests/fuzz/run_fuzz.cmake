# Runs a libFuzzer target for SECONDS on a corpus seeded with SEEDS (a folder of seed files) or,
# without SEEDS, with every 7th model.onnx of the ONNX backend test data (DATA). Fails on any
# crash the fuzzer reports.
file(MAKE_DIRECTORY ${CORPUS})
if(DEFINED SEEDS)
  file(GLOB seeds ${SEEDS}/*)
  foreach(s ${seeds})
    get_filename_component(name ${s} NAME)
    configure_file(${s} ${CORPUS}/seed_${name} COPYONLY)
  endforeach()
else()
  file(GLOB_RECURSE models ${DATA}/*/model.onnx)
  list(SORT models)
  set(i 0)
  foreach(m ${models})
    math(EXPR keep "${i} % 7")
    if(keep EQUAL 0)
      string(MD5 h "${m}")
      configure_file(${m} ${CORPUS}/seed_${h}.onnx COPYONLY)
    endif()
    math(EXPR i "${i} + 1")
  endforeach()
endif()
get_filename_component(artifacts ${CORPUS} DIRECTORY)
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=20 -rss_limit_mb=2048
  -artifact_prefix=${artifacts}/
  -print_final_stats=1 ${CORPUS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzzer failed (${rc}):\n${out}\n${err}")
endif()
string(REGEX MATCH "stat::number_of_executed_units: [0-9]+" runs "${err}")
message(STATUS "fuzz: ${runs}")
