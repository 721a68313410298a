// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs's extent-tree code (fuse2fs/iomap_map.c) compiled into
 * test_fuse2fs_map, which drives it on images without a server.
 */
#include "../../fuse2fs/iomap_map.c"
