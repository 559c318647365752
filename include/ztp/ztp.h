/*
 * libztp — zero-touch secure provisioning for IoT fleets.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_ZTP_H
#define ZTP_ZTP_H

/**
 * @file ztp.h
 * @brief Umbrella header: includes every public libztp API.
 */

#include <ztp/common.h>
#if ZTP_HAVE_SERVER
#include <ztp/store.h>
#include <ztp/ca.h>
#include <ztp/verifier.h>
#include <ztp/policy.h>
#endif
#if ZTP_HAVE_DEVICE
#include <ztp/device.h>
#include <ztp/port_openssl.h>
#endif

#endif /* ZTP_ZTP_H */
