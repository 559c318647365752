/*
 * libztp — the URL grammar the device configurations share: the bytes a
 * URL may hold, the HTTP proxy URL of ztp-device.json(5) ("proxy") and
 * the status line of a proxy's answer to CONNECT, for ztp_device(3) and
 * the mbedTLS port alike. C standard library only.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/portable.h"

#include <string.h>

bool ztp__url_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '?' && ch != '#' && ch != '\\' &&
	       ch != '"' && ch != '<' && ch != '>';
}

int ztp__proxy_status(const char *head, size_t n, int *status)
{
	*status = 0;
	if (n < 16 || memcmp(head, "HTTP/1.", 7) != 0 ||
	    (head[7] != '0' && head[7] != '1') || head[8] != ' ' ||
	    head[9] < '1' || head[9] > '5' || head[10] < '0' ||
	    head[10] > '9' || head[11] < '0' || head[11] > '9' ||
	    (head[12] != ' ' && head[12] != '\r') ||
	    memcmp(head + n - 4, "\r\n\r\n", 4) != 0)
		return ZTP_EPARSE;
	*status =
	    (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
	return ZTP_OK;
}

int ztp__proxy_parse(ztp__proxy *out, const char *url, const char **why)
{
	static const char pre[] = "http://";
	const size_t pl = sizeof(pre) - 1;
	size_t len = strlen(url), i, colon = 0, h0, h1;
	bool bracket;
	long port = 0;

	memset(out, 0, sizeof(*out));
	*why = "must be http://HOST:PORT";
	if (len > ZTP__PROXY_URL_MAX) {
		*why = "longer than 512 bytes";
		return ZTP_EINVAL;
	}
	if (strncmp(url, pre, pl) != 0)
		return ZTP_EINVAL;
	if (len > pl && url[len - 1] == '/')
		len--;
	bracket = len > pl && url[pl] == '[';
	for (i = pl; i < len; i++) {
		unsigned char ch = (unsigned char)url[i];

		if (ch == '@') {
			*why = "user information is not supported";
			return ZTP_EINVAL;
		}
		if (!ztp__url_char(ch) || ch == '/') {
			*why = "a character not allowed (no path, query, "
			       "spaces or controls)";
			return ZTP_EINVAL;
		}
		if (ch == ']')
			bracket = false;
		else if (ch == ':' && !bracket)
			colon = i;
	}
	if (colon <= pl || colon + 1 >= len)
		return ZTP_EINVAL;
	for (i = colon + 1; i < len; i++) {
		if (url[i] < '0' || url[i] > '9' || i - colon > 5) {
			*why = "bad port";
			return ZTP_EINVAL;
		}
		port = port * 10 + (url[i] - '0');
	}
	if (port < 1 || port > 65535) {
		*why = "port not in 1..65535";
		return ZTP_EINVAL;
	}
	/* The host to connect to: an IPv6 literal without its brackets. */
	h0 = pl;
	h1 = colon;
	if (url[h0] == '[') {
		if (url[h1 - 1] != ']' || h1 - h0 < 3)
			return ZTP_EINVAL;
		h0++;
		h1--;
	}
	if (h1 - h0 > ZTP__PROXY_HOST_MAX) {
		*why = "host longer than 255 bytes";
		return ZTP_EINVAL;
	}
	memcpy(out->host, url + h0, h1 - h0);
	out->host[h1 - h0] = '\0';
	out->port = (uint16_t)port;
	out->url_len = len;
	return ZTP_OK;
}
