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
#include <ztp/store.h>
#include <ztp/policy.h>
#include <ztp/ca.h>
#include <ztp/device.h>
#include <ztp/verifier.h>

#endif /* ZTP_ZTP_H */
