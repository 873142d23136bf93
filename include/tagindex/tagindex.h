// Umbrella header: includes the whole tagindex public API.
#ifndef TAGINDEX_TAGINDEX_H_
#define TAGINDEX_TAGINDEX_H_

#include "tagindex/analytics.h"
#include "tagindex/csv.h"
#include "tagindex/demo.h"
#include "tagindex/errors.h"
#include "tagindex/file_system.h"
#include "tagindex/import.h"
#include "tagindex/index.h"
#include "tagindex/options.h"
#include "tagindex/query.h"
#include "tagindex/saved_segments.h"
#include "tagindex/segment.h"
#include "tagindex/sharded_index.h"
#include "tagindex/storage.h"
#include "tagindex/types.h"
#include "tagindex/version.h"
#include "tagindex/write_batch.h"

#endif  // TAGINDEX_TAGINDEX_H_
