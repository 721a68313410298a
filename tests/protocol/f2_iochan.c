// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs's io_channel (fuse2fs/iochan.c, and the fault injection and
 * transactions it calls) compiled into test_fuse2fs_iochan, which drives
 * it on a file.
 */
#include "../../fuse2fs/iochan.c"
#include "../../fuse2fs/fault.c"
#include "../../fuse2fs/txn.c"
