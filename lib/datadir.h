/* SPDX-License-Identifier: MIT */
#pragma once

/* Where slipway's data (grub/ templates, profiles/) lives: $SLIPWAY_DATADIR
 * from the environment when set, else the source tree when the binary runs
 * from <src>/build/ (found as ../grub next to /proc/self/exe), else the
 * compiled-in $(DATADIR).  Computed on each call (no cached global); the
 * returned string is static storage per call site's thread — callers copy it
 * when they keep it.  Never NULL. */
const char *slipway_datadir(void);
