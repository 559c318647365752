# Man pages, all registered here (module fragments list library sources
# only). Pages of a part that is configured out are not installed.
dist_man_MANS += man/man3/ztp.3
# The portable device core (always: <ztp/port.h> is installed) and the
# mbedTLS port's tool.
dist_man_MANS += man/man3/ztp_port.3
if HAVE_MBEDTLS
dist_man_MANS += man/man1/ztp-device-mbedtls.1
endif
EXTRA_DIST += man/man1/ztp-device-mbedtls.1

if ENABLE_DEVICE
dist_man_MANS += man/man1/ztp-device.1 man/man3/ztp_device.3 \
	man/man5/ztp-device.json.5
endif

if ENABLE_SERVER
dist_man_MANS += man/man1/ztp-ca.1 man/man3/ztp_ca.3
dist_man_MANS += man/man1/ztp-verify.1 man/man3/ztp_verifier.3 \
	man/man5/ztp-verify.json.5 man/man7/ztp-protocol.7
dist_man_MANS += man/man1/ztp-policy.1 man/man3/ztp_policy.3 \
	man/man5/ztp-policy.json.5
dist_man_MANS += man/man3/ztp_store.3
# One name per function, for man ztp_store_open and the like.
dist_man_MANS += \
	man/man3/ztp_store_backend_error.3 \
	man/man3/ztp_store_cert_add.3 \
	man/man3/ztp_store_cert_count.3 \
	man/man3/ztp_store_cert_count_expiring.3 \
	man/man3/ztp_store_cert_get.3 \
	man/man3/ztp_store_cert_revoke.3 \
	man/man3/ztp_store_challenge_use.3 \
	man/man3/ztp_store_claim_set.3 \
	man/man3/ztp_store_claim_attempt.3 \
	man/man3/ztp_store_claim_take.3 \
	man/man3/ztp_store_counter_next.3 \
	man/man3/ztp_store_device_add.3 \
	man/man3/ztp_store_device_certs.3 \
	man/man3/ztp_store_device_count.3 \
	man/man3/ztp_store_device_list.3 \
	man/man3/ztp_store_cert_expiring.3 \
	man/man3/ztp_store_group_add.3 \
	man/man3/ztp_store_group_get.3 \
	man/man3/ztp_store_group_list.3 \
	man/man3/ztp_store_group_set_enabled.3 \
	man/man3/ztp_store_group_enroll.3 \
	man/man3/ztp_store_device_get.3 \
	man/man3/ztp_store_device_set_factory_key.3 \
	man/man3/ztp_store_device_revoke_certs.3 \
	man/man3/ztp_store_device_set_info.3 \
	man/man3/ztp_store_device_set_state.3 \
	man/man3/ztp_store_event_append.3 \
	man/man3/ztp_store_event_list.3 \
	man/man3/ztp_store_limit_take.3 \
	man/man3/ztp_store_free.3 \
	man/man3/ztp_store_open.3 \
	man/man3/ztp_store_open_backend.3 \
	man/man3/ztp_store_revoked_list.3 \
	man/man3/ztp_store_set_clock.3
endif
