# `kiln build --onnx`: a model from the ONNX test data builds and runs; an unsupported one gives
# one line per parser error and a non-zero exit.
set(plan ${WORK}/cli_onnx.plan)
set(model ${DATA}/node/test_conv_with_strides_padding/model.onnx)
if(NOT EXISTS ${model})
  message(STATUS "ONNX test data not installed; skipping")
  return()
endif()
execute_process(COMMAND ${KILN} build --onnx ${model} --opt-level 0 --save ${plan}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "engine size")
  message(FATAL_ERROR "kiln build --onnx failed (${rc}): ${out} ${err}")
endif()
execute_process(COMMAND ${KILN} run --plan ${plan} --iterations 1
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "output y float32 \\[1,1,4,3\\]")
  message(FATAL_ERROR "kiln run of the imported model failed (${rc}): ${out} ${err}")
endif()
execute_process(COMMAND ${KILN} build --onnx ${DATA}/node/test_sequence_map_add_2_sequences_expanded/model.onnx
  --save ${plan} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "kiln: onnx: [^\n]*\n" lines "${err}")
list(LENGTH lines n)
if(rc EQUAL 0 OR n LESS 3 OR NOT err MATCHES "unsupported op Loop \\(opset 17\\)")
  message(FATAL_ERROR "kiln build --onnx of an unsupported model (${rc}, ${n} error lines): ${err}")
endif()
