# The CLI end to end: build the demo plan, run it, inspect it; a corrupt plan gets a clear error.
set(plan ${WORK}/cli_demo.plan)
execute_process(COMMAND ${KILN} build --model demo --profile x:1x1x28x28,2x1x28x28,4x1x28x28
  --opt-level 1 --save ${plan} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "engine size")
  message(FATAL_ERROR "kiln build failed (${rc}): ${out} ${err}")
endif()
execute_process(COMMAND ${KILN} run --plan ${plan} --shape x:3x1x28x28 --iterations 2
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "output label int64 \\[3,1\\]" OR NOT out MATCHES "latency")
  message(FATAL_ERROR "kiln run failed (${rc}): ${out} ${err}")
endif()
execute_process(COMMAND ${KILN} run --plan ${plan} --shape x:9x1x28x28
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "outside optimization profile 0")
  message(FATAL_ERROR "kiln run accepted a shape outside the profile (${rc}): ${out} ${err}")
endif()
execute_process(COMMAND ${KILN} inspect --plan ${plan}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "tactic_per_profile")
  message(FATAL_ERROR "kiln inspect failed (${rc}): ${out} ${err}")
endif()
file(WRITE ${WORK}/not_a_plan.plan "hello, I am not a plan")
execute_process(COMMAND ${KILN} run --plan ${WORK}/not_a_plan.plan
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "not_a_plan.plan")
  message(FATAL_ERROR "a corrupt plan was not refused clearly (${rc}): ${err}")
endif()
# The plan is streamed into the file as it is serialized: a build that fails leaves an existing
# file as it was, and an unwritable path is a clear error.
file(SHA256 ${plan} before)
execute_process(COMMAND ${KILN} build --model demo --profile no_such_input:1x1,1x1,1x1
  --opt-level 1 --save ${plan} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(SHA256 ${plan} after)
if(rc EQUAL 0 OR NOT err MATCHES "no_such_input" OR NOT before STREQUAL after)
  message(FATAL_ERROR "a failed build touched the plan file (${rc}): ${out} ${err}")
endif()
execute_process(COMMAND ${KILN} build --model demo --profile x:1x1x28x28,2x1x28x28,4x1x28x28
  --opt-level 1 --save ${WORK}/no_such_dir/cli_demo.plan
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "cannot write '.*no_such_dir/cli_demo.plan'")
  message(FATAL_ERROR "an unwritable plan path was not refused clearly (${rc}): ${out} ${err}")
endif()
