// Built by tests/consumer/run.sh, which expects this to fail: a host sees
// tagindex's include/ only, never src/.
#include "bitmap/bitmap.h"
