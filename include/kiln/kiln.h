// kiln — umbrella header.
#pragma once

#include <kiln/allocator.h>
#include <kiln/builder.h>
#include <kiln/context_pool.h>
#include <kiln/device_memory.h>
#include <kiln/graph_runner.h>
#include <kiln/logger.h>
#include <kiln/network.h>
#include <kiln/pipeline.h>
#include <kiln/runtime.h>
#include <kiln/status.h>
#include <kiln/types.h>
#include <kiln/version.h>
