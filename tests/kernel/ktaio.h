/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libaio helper of the guest tests (programs that link -laio).
 */
#ifndef TESTS_KERNEL_KTAIO_H
#define TESTS_KERNEL_KTAIO_H

#include <libaio.h>

/*
 * Wait for n submitted requests of ctx to complete: 0 when each one
 * transferred all the bytes its iocb asked for, -1 (with a TAP comment
 * for each one that did not, or for io_getevents failing) otherwise.
 */
int kt_aio_reap(io_context_t ctx, int n);

#endif /* TESTS_KERNEL_KTAIO_H */
