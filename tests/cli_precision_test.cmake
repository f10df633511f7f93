# The CLI's per-layer precision options end to end: --layer-precisions, --layer-output-types and
# --precision-constraints on the demo model (CPU), checked through `kiln inspect`'s JSON.
set(plan ${WORK}/cli_precision.plan)
set(common build --model demo --profile x:1x1x28x28,2x1x28x28,4x1x28x28 --opt-level 0
  --threads 1 --save ${plan})

function(kiln_ok what)
  execute_process(COMMAND ${KILN} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}): ${out} ${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(kiln_fails what expected_error)
  execute_process(COMMAND ${KILN} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${expected_error}")
    message(FATAL_ERROR "${what}: expected a failure with '${expected_error}' (${rc}): ${out} ${err}")
  endif()
endfunction()

# layer(<json> <layer name> <out var> <path...>): a field of the named layer ("" if absent).
function(layer json name var)
  string(JSON n LENGTH "${json}" layers)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON lname GET "${json}" layers ${i} name)
    if(lname STREQUAL name)
      string(JSON value ERROR_VARIABLE e GET "${json}" layers ${i} ${ARGN})
      if(e)
        set(value "")
      endif()
      set(${var} "${value}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "no layer '${name}' in the inspected plan")
endfunction()

# FP16 with the first conv block and the softmax kept in FP32 (prefer: the default with
# --layer-precisions).
kiln_ok("fp16 build with layer precisions" ${common} --fp16
  --layer-precisions "stage1.*:fp32,softmax:fp32")
if(NOT out MATCHES "--layer-precisions: 4 layer\\(s\\) constrained")
  message(FATAL_ERROR "expected 4 constrained layers (stage1.conv/relu/pool, softmax): ${out}")
endif()
kiln_ok("inspect" inspect --plan ${plan})
set(j "${out}")
string(JSON mode GET "${j}" precision_constraints)
if(NOT mode STREQUAL "prefer")
  message(FATAL_ERROR "precision_constraints: expected prefer, got '${mode}'")
endif()
# name;output dtype;constraint ("-": none)
foreach(spec "stage1.conv;float32;float32" "stage1.pool;float32;float32" "softmax;float32;float32"
             "stage2.conv;float16;-" "fc2.matmul;float16;-")
  list(GET spec 0 name)
  list(GET spec 1 want_dtype)
  list(GET spec 2 want_constraint)
  if(want_constraint STREQUAL "-")
    set(want_constraint "")
  endif()
  layer("${j}" ${name} dtype outputs 0 dtype)
  layer("${j}" ${name} constraint precision_constraint)
  if(NOT dtype STREQUAL want_dtype OR NOT constraint STREQUAL want_constraint)
    message(FATAL_ERROR "layer ${name}: output ${dtype} (want ${want_dtype}), constraint "
                        "'${constraint}' (want '${want_constraint}')")
  endif()
endforeach()
layer("${j}" stage1.conv fused fused)
if(NOT fused MATCHES "stage1.relu")
  message(FATAL_ERROR "stage1.conv and stage1.relu (both float32) should fuse: fused = ${fused}")
endif()
kiln_ok("run the mixed plan" run --plan ${plan} --iterations 1)
if(NOT out MATCHES "output prob float32")
  message(FATAL_ERROR "run: ${out}")
endif()

# An output type: the float32 softmax hands float16 on (TopK reads it back as float32); obey.
kiln_ok("output types" ${common} --layer-output-types "softmax:fp16" --precision-constraints obey)
kiln_ok("inspect" inspect --plan ${plan})
if(NOT out MATCHES "\"output_type_constraint\": \"float16\"" OR
   NOT out MATCHES "\"precision_constraints\": \"obey\"")
  message(FATAL_ERROR "output type not recorded: ${out}")
endif()

# Obey without a tactic: MatMul in float16 needs the reference kernel, which is disabled.
kiln_fails("obey without a tactic"
  "layer 'fc2.matmul' \\(MatMul\\): precision constraint float16 cannot be met: no enabled cpu tactic runs MatMul in float16"
  ${common} --layer-precisions "fc2.matmul:fp16" --precision-constraints obey
  --tactic-sources=-cpu-ref)
# Prefer: TopK keeps its input type; a warning, and the build goes on.
kiln_ok("prefer falls back" ${common} --layer-precisions "top1:fp16")
if(NOT err MATCHES "layer 'top1' \\(TopK\\): precision constraint float16 cannot be met.*runs unconstrained \\(prefer\\)")
  message(FATAL_ERROR "prefer: expected a warning naming top1: ${err}")
endif()
# none: the constraints are ignored, with a warning.
kiln_ok("none" ${common} --fp16 --layer-precisions "stage1.*:fp32" --precision-constraints none)
if(NOT err MATCHES "3 layer precision\\(s\\) and 0 output type\\(s\\) are set but ignored")
  message(FATAL_ERROR "none: expected a warning that the precisions are ignored: ${err}")
endif()
kiln_ok("inspect" inspect --plan ${plan})
layer("${out}" stage1.conv dtype outputs 0 dtype)
if(NOT dtype STREQUAL "float16")
  message(FATAL_ERROR "none: stage1.conv should run float16, runs ${dtype}")
endif()

# Bad specs: clear errors naming the entry.
kiln_fails("no such layer" "error: layer precisions: pattern 'nope\\*' \\(entry 'nope\\*:fp32'\\) matches no layer"
  ${common} --layer-precisions "nope*:fp32")
kiln_fails("bad type" "unknown type 'int4'" ${common} --layer-precisions "stage1.conv:int4")
kiln_fails("bad mode" "precision-constraints" ${common} --precision-constraints always)
