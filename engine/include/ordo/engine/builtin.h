// The built-in engine behind the engine ABI (ordo/engine_abi.h), as any
// team's engine is: `ordo replay --engine legacy|fixed` loads these ops with
// config "mode=legacy" or "mode=fixed". Nothing in replay, the scheduler or
// the analyzer knows this engine otherwise.
#pragma once

#include "ordo/engine_abi.h"

namespace ordo::engine {

// Config keys (comma-separated key=value; unknown keys are an error):
//   mode=legacy|fixed            the orderings (default fixed)
//   compaction_every_writes=N    compact after every N writes (default 32)
//   prefetch_workers=N, prefetch_depth=N, cache_blocks=N, compaction=0|1
// A read-verify failure is ORDO_FAILED with kind ORDO_FAILURE_VERIFY, the
// block key as object, and the logical file and offset. check() reads every
// live block back from disk against its checksum.
const ordo_engine_ops* BuiltinEngineOps();

}  // namespace ordo::engine
