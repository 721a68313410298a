// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs's io_channel (fuse2fs/iochan.c) compiled into
 * test_fuse2fs_iochan, which drives it on a plain file.
 */
#include "../../fuse2fs/iochan.c"
