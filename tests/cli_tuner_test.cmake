# The CLI's tuner options end to end: a timing cache file (cold, warm, corrupt), tactic rules,
# tactic sources, the progress option and `kiln cache`.
set(cache ${WORK}/cli_tuner.cache)
set(plan ${WORK}/cli_tuner.plan)
file(REMOVE ${cache})
set(common build --model demo --profile x:1x1x28x28,2x1x28x28,4x1x28x28 --opt-level 1
  --threads 1 --save ${plan})

function(kiln_ok what)
  execute_process(COMMAND ${KILN} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}): ${out} ${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

kiln_ok("cold build" ${common} --timing-cache ${cache} --progress on)
if(NOT out MATCHES "0 layers from the cache, 9 tuned" OR NOT out MATCHES "\\[#+\\] +9/9 layers")
  message(FATAL_ERROR "cold build: expected 9 tuned layers and a progress bar: ${out}")
endif()
file(READ ${plan} cold_plan HEX)
kiln_ok("warm build" ${common} --timing-cache ${cache})
if(NOT out MATCHES "9 layers from the cache, 0 tuned" OR out MATCHES "layers +cache")
  message(FATAL_ERROR "warm build: expected 9 layers from the cache and no progress bar: ${out}")
endif()
# It added nothing to the cache, so the file is not rewritten.
if(NOT out MATCHES "unchanged, not saved" OR out MATCHES "entries saved")
  message(FATAL_ERROR "warm build: expected the timing cache file to be left as it was: ${out}")
endif()
file(READ ${plan} warm_plan HEX)
if(NOT cold_plan STREQUAL warm_plan)
  message(FATAL_ERROR "the warm build's plan differs from the cold build's")
endif()

kiln_ok("cache list" cache --file ${cache} --list)
if(NOT out MATCHES "9 entries" OR NOT out MATCHES "Conv\\|cpu\\|" OR NOT out MATCHES "Conv/cpu-blas/im2col_blas")
  message(FATAL_ERROR "kiln cache --list: ${out}")
endif()

# A corrupt cache: a clear warning, and the build goes on (and replaces the file).
file(WRITE ${cache} "KILNTCAC but then garbage")
kiln_ok("build with a corrupt cache" ${common} --timing-cache ${cache})
if(NOT err MATCHES "warning: timing cache '.*cli_tuner.cache'.*building without it")
  message(FATAL_ERROR "corrupt cache: expected a warning naming the file: ${err}")
endif()
kiln_ok("cache after replacement" cache --file ${cache})
if(NOT out MATCHES "9 entries")
  message(FATAL_ERROR "the corrupt cache was not replaced: ${out}")
endif()

# Rules: no cpu-blas tactic anywhere, and fc1.matmul forced to its reference kernel.
file(WRITE ${WORK}/cli_rules.json [=[{"rules": [
  {"layer": "*", "action": "ban", "source": "cpu-blas"},
  {"layer": "fc1.*", "action": "force", "tactic": "reference"}]}]=])
kiln_ok("build with rules" ${common} --tactic-rules ${WORK}/cli_rules.json)
kiln_ok("inspect" inspect --plan ${plan})
if(out MATCHES "cpu-blas/" OR NOT out MATCHES "MatMul/cpu-ref/reference")
  message(FATAL_ERROR "rules not applied: ${out}")
endif()
file(WRITE ${WORK}/cli_bad_rules.json [=[{"rules": [{"layer": "*", "action": "drop", "tactic": "x"}]}]=])
execute_process(COMMAND ${KILN} ${common} --tactic-rules ${WORK}/cli_bad_rules.json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "tactic rule 0: action \"drop\"")
  message(FATAL_ERROR "bad rules not refused clearly (${rc}): ${err}")
endif()

# Sources: the engine records what it may use and what it uses.
kiln_ok("build without cpu-blas" ${common} --tactic-sources=-cpu-blas)
kiln_ok("inspect" inspect --plan ${plan})
if(NOT out MATCHES "\"tactic_sources_enabled\": \"cpu-ref, cpu-opt, kiln-cuda" OR out MATCHES "cpu-blas/"
   OR NOT out MATCHES "\"tactic_sources_used\": \"cpu-ref, cpu-opt\"")
  message(FATAL_ERROR "sources not recorded: ${out}")
endif()
execute_process(COMMAND ${KILN} ${common} --tactic-sources cpu-blas
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "no tactic is left for this layer" OR NOT err MATCHES "layer '")
  message(FATAL_ERROR "a layer without tactics was not reported (${rc}): ${err}")
endif()
execute_process(COMMAND ${KILN} ${common} --tactic-sources magic
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "unknown tactic source 'magic'")
  message(FATAL_ERROR "a bad source list was not refused (${rc}): ${err}")
endif()
# Two processes saving one cache file at the same time (execute_process runs its commands
# concurrently): the file keeps the entries of both.
set(shared ${WORK}/cli_tuner_shared.cache)
file(REMOVE ${shared})
# (Through sh: execute_process would pipe one command's output into the other's input.)
execute_process(
  COMMAND sh -c "\"$0\" build --model demo --profile x:1x1x28x28,2x1x28x28,4x1x28x28 --opt-level 1 --threads 1 --timing-cache \"$1\" --save \"$2/cli_tuner_a.plan\" > \"$2/cli_tuner_a.log\" 2>&1 & pid=$!; \"$0\" build --model demo --profile x:1x1x28x28,3x1x28x28,4x1x28x28 --opt-level 1 --threads 1 --timing-cache \"$1\" --save \"$2/cli_tuner_b.plan\" > \"$2/cli_tuner_b.log\" 2>&1; rb=$?; wait $pid; ra=$?; exit $((ra + rb))"
    ${KILN} ${shared} ${WORK}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(READ ${WORK}/cli_tuner_a.log log_a)
  file(READ ${WORK}/cli_tuner_b.log log_b)
  message(FATAL_ERROR "concurrent builds failed (${rc}): ${log_a} ${log_b} ${err}")
endif()
kiln_ok("shared cache" cache --file ${shared})
if(NOT out MATCHES "18 entries")
  message(FATAL_ERROR "concurrent savers lost entries: ${out}")
endif()
file(REMOVE ${cache} ${cache}.lock ${shared} ${shared}.lock)
