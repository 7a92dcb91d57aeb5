#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target into fuzz/corpus/<target>/seed-<label>.

Valid inputs and edge cases for each codec, written from the protocols' descriptions. Targets that take parameters
from their first bytes (hook_chunked, ws_frame, forwarded) get them prepended here; src/fuzzing/ says which.
Run it again after changing a seed: files are overwritten, nothing else in the corpus is touched.
"""

import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, label, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + label), "wb") as out:
        out.write(data)


def h1_head():
    seeds = {
        "get": b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
        "get-http10": b"GET / HTTP/1.0\r\n\r\n",
        "http10-keepalive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "close": b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
        "pipelined": b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        "post-length": b"POST /e/?EIO=4&sid=x HTTP/1.1\r\nContent-Length: 5\r\n\r\n4helo",
        "post-then-get": b"POST /e/ HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET /e/ HTTP/1.1\r\n\r\n",
        "post-upgrade": b"POST / HTTP/1.1\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nok",
        "zero-length": b"POST / HTTP/1.1\r\nContent-Length: 000\r\n\r\n",
        "two-lengths": b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "chunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        "te-and-length": b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "expect": b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
        "upgrade": b"GET /e/?EIO=4&transport=websocket HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        "connect": b"CONNECT a:443 HTTP/1.1\r\n\r\n",
        "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "partial": b"GET / HTTP/1.1\r\nHost: a\r\n",
        "bad-method": b"G(T / HTTP/1.1\r\n\r\n",
        "bad-version": b"GET / HTTP/2.1\r\n\r\n",
        "bad-uri": b"GET /\x7f HTTP/1.1\r\n\r\n",
        "absolute-uri": b"GET http://a/b?c HTTP/1.1\r\n\r\n",
        "star": b"OPTIONS * HTTP/1.1\r\n\r\n",
        "bad-header-name": b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "obs-text-value": b"GET / HTTP/1.1\r\nX-A: \xe9\xff\r\n\r\n",
        "bad-length": b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
        "huge-length": b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "leading-newlines": b"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "forwarded": b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nForwarded: for=\"[::1]:80\"\r\n\r\n",
        "head": b"HEAD /healthz HTTP/1.1\r\n\r\n",
    }
    many = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    seeds["101-headers"] = many
    seeds["100-headers"] = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(100)) + b"\r\n"
    for label, data in seeds.items():
        write("h1_head", label, data)


def hook_response():
    seeds = {
        "ok-length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "no-content": b"HTTP/1.1 204 No Content\r\n\r\n",
        "not-modified": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        "continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "early-hints": b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        "switching": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "gzip-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "chunked-gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "te-and-length": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "until-close": b"HTTP/1.1 200 OK\r\n\r\n{\"a\":1}",
        "http10": b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "http10-keepalive": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        "same-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
        "different-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "bad-length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "long-length": b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
        "overflow-length": b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "server-error": b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops",
        "no-reason": b"HTTP/1.1 200 \r\n\r\n",
        "status-000": b"HTTP/1.1 000 X\r\n\r\n",
        "bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "partial": b"HTTP/1.1 200 OK\r\nContent-Le",
        "garbage": b"SSH-2.0-OpenSSH\r\n\r\n",
        "http2": b"HTTP/2 200\r\n\r\n",
    }
    seeds["101-headers"] = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    for label, data in seeds.items():
        write("hook_response", label, data)


def hook_chunked():
    # Parameters: limit selector (0x80: the 8 MiB body limit, else n * 8 bytes), read size - 1, head length.
    bodies = {
        "one": b"2\r\n{}\r\n0\r\n\r\n",
        "several": b"1\r\n[\r\n3\r\n1,2\r\n1\r\n]\r\n0\r\n\r\n",
        "extensions": b"2;name=value\r\n{}\r\n0;last\r\n\r\n",
        "quoted-extension": b"2 ; a=\"b;c\"\r\n{}\r\n0\r\n\r\n",
        "trailers": b"2\r\n{}\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n",
        "bare-lf": b"2\n{}\n0\n\n",
        "upper-hex": b"A\r\n0123456789\r\n0\r\n\r\n",
        "leading-zeros": b"0000000000000002\r\n{}\r\n0\r\n\r\n",
        "seventeen-digits": b"00000000000000002\r\n{}\r\n0\r\n\r\n",
        "max-u64": b"ffffffffffffffff\r\n",
        "over-limit": b"801\r\n",
        "empty": b"0\r\n\r\n",
        "next-response": b"0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        "bad-size": b"x\r\n",
        "negative": b"-1\r\n",
        "space-size": b" 1\r\na\r\n0\r\n\r\n",
        "bad-end": b"1\r\nab\r\n",
        "cr-only": b"1\r\na\r",
        "partial-data": b"10\r\nabc",
        "long-line": b"1;" + b"x" * 5000 + b"\r\n",
        "long-trailers": b"0\r\n" + b"X: " + b"y" * 4000 + b"\r\n" * 30,
    }
    for label, body in bodies.items():
        write("hook_chunked", label, bytes([0x80, 0, 0]) + body)
        write("hook_chunked", label + "-small", bytes([2, 2, 5]) + body)
    write("hook_chunked", "limit-zero", bytes([0, 0, 1]) + b"1\r\na\r\n0\r\n\r\n")


def mask(payload, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload, fin=True, key=b"\x37\xfa\x21\x3d", masked=True, rsv=0, length=None):
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if masked:
        return head + key + mask(payload, key)
    return head + payload


def ws_frame():
    # Parameters: message limit selector (index into 0, 1, 2, 3, 125, 126, 65536, unlimited), read size - 1.
    seeds = {
        "text": frame(1, b"4hello"),
        "binary": frame(2, b"\x01\x02\x03"),
        "empty-text": frame(1, b""),
        "probe": frame(1, b"2probe") + frame(1, b"5"),
        "fragments": frame(1, b"4he", fin=False) + frame(9, b"hi") + frame(0, b"l", fin=False)
        + frame(10, b"") + frame(0, "lo€".encode(), fin=True),
        "utf8-across-fragments": frame(1, "€".encode()[:1], fin=False) + frame(0, "€".encode()[1:]),
        "len-126": frame(2, b"a" * 126),
        "len-65536": frame(2, b"b" * 300, length=65536),
        "len-64bit-huge": frame(2, b"", length=1 << 40),
        "len-64bit-top-bit": frame(2, b"", length=1 << 63),
        "close-empty": frame(8, b""),
        "close-code": frame(8, struct.pack(">H", 1000) + b"bye"),
        "close-4000": frame(8, struct.pack(">H", 4000)),
        "close-bad-code": frame(8, struct.pack(">H", 1005)),
        "close-one-byte": frame(8, b"\x03"),
        "close-bad-utf8": frame(8, struct.pack(">H", 1000) + b"\xff"),
        "ping": frame(9, b"p" * 125),
        "ping-too-long": frame(9, b"p" * 126),
        "fragmented-ping": frame(9, b"p", fin=False),
        "unmasked": frame(1, b"4x", masked=False),
        "rsv": frame(1, b"4x", rsv=0x40),
        "opcode-3": frame(3, b"x"),
        "stray-continuation": frame(0, b"x"),
        "new-message-mid-fragments": frame(1, b"a", fin=False) + frame(1, b"b"),
        "bad-utf8": frame(1, b"\xc3\x28"),
        "partial-header": frame(1, b"4hello")[:3],
        "partial-payload": frame(1, b"4hello")[:8],
        "pong": frame(10, b"x") + frame(1, b"4y"),
    }
    for label, data in seeds.items():
        for limit in (4, 6, 7):
            write("ws_frame", "%s-limit%d" % (label, limit), bytes([limit, 0]) + data)
        write("ws_frame", label + "-limit2-read3", bytes([2, 2]) + data)


def payload_v4():
    seeds = {
        "message": "4hello",
        "mixed": "4hello €\x1ebAQIDBA==\x1e2",
        "ping-probe": "2probe",
        "close": "1",
        "upgrade": "5",
        "noop": "6",
        "empty-message": "4",
        "binary-empty": "b",
        "binary-unpadded": "bAQ",
        "binary-bad": "b!!",
        "binary-trailing-bits": "bAR==",
        "trailing-separator": "4a\x1e",
        "leading-separator": "\x1e4a",
        "unknown-type": "9x",
        "open": "0{\"sid\":\"x\"}",
        "many": "\x1e".join(["4m%d" % i for i in range(50)]),
        "emoji": "4😀\x1e4\u2028",
    }
    for label, data in seeds.items():
        write("payload_v4", label, data)
    write("payload_v4", "bad-utf8", b"4\xff")
    write("payload_v4", "empty", b"")


def payload_v3():
    seeds = {
        "message": "6:4hello",
        "several": "6:4hello2:2probe1:6",
        "utf16": "4:4é😀",
        "binary": "10:b4AQIDBA==",
        "binary-bad": "4:b4!!",
        "empty-packet": "0:",
        "zero-padded": "06:4hello",
        "plus-length": "+6:4hello",
        "too-long": "9:4hi",
        "mid-surrogate": "2:4😀",
        "no-colon": "abc",
        "huge-length": "99999999999999999999999:4",
        "trailing": "2:4h3:",
        "close": "1:1",
        "form": "d=6%3A4hel%5Cnlo",
        "form-plus": "d=6%3A4a+b%5C%5Cnc&x=1",
        "form-escaped-backslash": "d=a%5C%5Cnb",
        "form-bad-escape": "d=%zz%FF",
        "form-other-field": "x=1",
        "form-two-d": "d=2%3A40&d=1%3A1",
    }
    for label, data in seeds.items():
        write("payload_v3", label, data)
    write("payload_v3", "bad-utf8", b"2:4\xff")


def payload_v3_binary():
    seeds = {
        "text-and-binary": bytes([0, 6, 0xff]) + b"4hello" + bytes([1, 5, 0xff, 4, 1, 2, 3, 4]),
        "ping": bytes([0, 1, 0xff]) + b"2",
        "b64-in-binary-framing": bytes([0, 6, 0xff]) + b"b4AQI=",
        "binary-not-message": bytes([1, 2, 0xff, 2, 9]),
        "binary-empty": bytes([1, 0, 0xff]),
        "two-digit-length": bytes([0, 1, 2, 0xff]) + b"4" + b"x" * 11,
        "ten-digits": bytes([0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0xff]),
        "eleven-digits": bytes([0] + [1] * 11 + [0xff]),
        "no-digits": bytes([0, 0xff]),
        "bad-kind": bytes([2, 1, 0xff]) + b"2",
        "digit-over-9": bytes([0, 10, 0xff]),
        "short": bytes([0, 5, 0xff]) + b"2",
        "no-end": bytes([0, 1]),
        "bad-utf8": bytes([0, 2, 0xff]) + b"4\xff",
    }
    for label, data in seeds.items():
        write("payload_v3_binary", label, data)


def sio_packet():
    seeds = {
        "connect": "0",
        "connect-auth": "0/admin,{\"token\":\"123\"}",
        "disconnect": "1/x,",
        "event": "2[\"hello\",1]",
        "event-nsp-id": "2/chat,12[\"hello\",1.50,{\"b\":1,\"a\":2}]",
        "event-numeric-name": "2[42]",
        "event-reserved": "2[\"connect\"]",
        "event-empty": "2[]",
        "event-object": "2{}",
        "ack": "3/nsp,7[]",
        "connect-error": "4{\"message\":\"no\"}",
        "connect-error-string": "4\"no\"",
        "binary-event": "51-[\"up\",{\"_placeholder\":true,\"num\":0}]",
        "binary-event-nsp": "52-/chat,3[\"up\",{\"num\":1,\"_placeholder\":true},{\"_placeholder\":true,\"num\":0}]",
        "binary-ack": "61-9[{\"_placeholder\":true,\"num\":0}]",
        "placeholder-out-of-range": "51-[\"a\",{\"_placeholder\":true,\"num\":5}]",
        "placeholder-in-string": "51-[\"a\",\"{\\\"_placeholder\\\":true,\\\"num\\\":0}\"]",
        "dollar-binary": "2[\"a\",{\"$binary\":\"AQID\"}]",
        "dollar-binary-bad": "2[\"a\",{\"$binary\":\"!!\"}]",
        "dollar-binary-extra": "2[\"a\",{\"$binary\":\"AQ==\",\"x\":1}]",
        "too-many-attachments": "511-[\"a\"]",
        "attachments-no-dash": "51[\"a\"]",
        "ack-id-overflow": "299999999999999999999999[\"a\"]",
        "ack-id-max": "218446744073709551615[\"a\"]",
        "nsp-no-comma": "0/admin",
        "nsp-root-explicit": "2/,5[\"a\"]",
        "whitespace-payload": "0 {}",
        "unknown-type": "9",
        "unicode": "2/ü,[\"é😀\",\"\\ud83d\\ude00\"]",
        "nested": "2[\"n\",[[[[[[[[[[{\"a\":[{}]}]]]]]]]]]]]",
    }
    for label, data in seeds.items():
        write("sio_packet", label, data)


def legacy_frame():
    sep = "\ufffd"
    seeds = {
        "one": "5:::{\"name\":\"a\"}",
        "framed": sep + "3" + sep + "1::" + sep + "11" + sep + "3:::h€llo😀",
        "framed-one": sep + "3" + sep + "2::",
        "framed-empty": sep + "0" + sep,
        "no-length": sep,
        "no-separator": sep + "3",
        "bad-length": sep + "x" + sep + "1::",
        "too-long": sep + "9" + sep + "1::",
        "junk-after": sep + "3" + sep + "1::junk",
        "mid-surrogate": sep + "1" + sep + "😀",
        "eleven-digits": sep + "99999999999" + sep + "1::",
        "leading-zeros": sep + "003" + sep + "2::",
        "nested": sep + "7" + sep + sep + "1" + sep + "2::",
        "form": "d=%225%3A%3A%3A%7B%5C%22name%5C%22%3A1%7D%22",
        "form-framed": "d=%22%5Cufffd3%5Cufffd1%3A%3A%5Cufffd3%5Cufffd2%3A%3A%22",
        "form-not-json": "d=not-json",
        "form-other": "x=1",
    }
    for label, data in seeds.items():
        write("legacy_frame", label, data)


def legacy_message():
    seeds = {
        "event-data-ack": "5:1+::{\"name\":\"echo\",\"args\":[{\"x\":1},\"y\"]}",
        "event-auto-ack": "5:2:/chat:{\"name\":\"x\"}",
        "event-no-args": "5::/chat:{\"name\":\"ping\"}",
        "event-reserved": "5:::{\"name\":\"disconnect\"}",
        "event-number-name": "5:::{\"name\":1}",
        "event-no-data": "5:1+::",
        "event-not-json": "5:::not json",
        "message": "3:9::hello \"you\"",
        "message-colons": "3:7::/chat:a:b",
        "json": "4::/chat:{\"j\":[1]}",
        "json-undefined": "4::",
        "json-bad": "4:::{",
        "connect": "1::/chat?token=a",
        "connect-query-data": "1::/chat:?token=b",
        "connect-query-comma": "1::/chat?ids=1,2",
        "connect-query-data-comma": "1::/chat:?a=1,2&b=,",
        "connect-main": "1::",
        "disconnect": "0::",
        "disconnect-endpoint": "0::/chat",
        "heartbeat": "2::",
        "ack": "6:::4+[\"A\",1]",
        "ack-no-args": "6::/chat:5",
        "ack-bad": "6:::1+{}",
        "error": "7:::1+0",
        "noop": "8::",
        "unknown": "9::",
        "endpoint-no-slash": "1::chat",
        "endpoint-comma": "5:1::/a,b:{\"name\":\"x\"}",
        "id-too-long": "5:9999999999999999::",
        "id-max": "5:999999999999999+::{\"name\":\"x\"}",
        "plus-no-id": "5:+::{\"name\":\"x\"}",
        "sio-event": "2[\"news\",{\"a\":1},2]",
        "sio-event-nsp": "2/chat,7[\"hi\"]",
        "sio-ack": "3/chat,3[\"ok\"]",
        "sio-connect-error": "4/admin,\"Not authorized\"",
        "sio-binary": "51-[\"file\",{\"_placeholder\":true,\"num\":0}]",
        "sio-number-name": "2[1,2]",
    }
    for label, data in seeds.items():
        write("legacy_message", label, data)


def query():
    seeds = {
        "polling": "EIO=4&transport=polling&t=N8hyd6w",
        "sid": "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA",
        "v3-jsonp": "EIO=3&transport=polling&j=0&b64=1",
        "escapes": "name=a%20b&x&%zz=%&&=&EIO=%FF",
        "plus": "a=b+c&d=%2B",
        "repeated": "k=1&k=2&k=3",
        "unicode": "n=%C3%A9%F0%9F%98%80&m=é",
        "empty": "",
        "only-separators": "&&&==&",
    }
    for label, data in seeds.items():
        write("query", label, data)


def forwarded():
    # Lines of a name selector (0 Forwarded, 1 X-Forwarded-For, 2 X-Forwarded-Proto, 3 X-ARR-SSL, 4 other) and a value.
    def lines(*pairs):
        return b"\n".join(bytes([n]) + v for n, v in pairs)

    seeds = {
        "xff": lines((1, b"6.6.6.6, 198.51.100.7:5678, 10.0.0.5")),
        "xff-trusted-chain": lines((1, b"10.0.0.9, 10.0.0.5")),
        "xff-v6-zone-port": lines((1, b"[fe80::1%6]:63354"), (2, b"https")),
        "xff-mapped": lines((1, b"::ffff:10.0.0.1, ::ffff:203.0.113.9")),
        "xff-unknown": lines((1, b"unknown, _hidden")),
        "forwarded": lines((0, b"for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https")),
        "forwarded-and-xff": lines((0, b"for=10.0.0.1"), (1, b"6.6.6.6")),
        "forwarded-unknown": lines((0, b"for=unknown")),
        "forwarded-no-for": lines((0, b"proto=https;by=x")),
        "arr-ssl": lines((1, b"198.51.100.7:1234"), (3, b"2048|256|...")),
        "proto-list": lines((2, b"http, https"), (2, b"wss")),
        "bracket-unclosed": lines((1, b"[::1"), (0, b"for=\"[")),
        "two-colons": lines((1, b"1.2.3.4:5:6")),
        "bad-port": lines((1, b"1.2.3.4:notaport")),
        "obs-text": lines((1, b"\xe9\xff"), (0, b"for=\xc3\xa9")),
        "other": lines((4, b"1.2.3.4")),
    }
    for label, data in seeds.items():
        write("forwarded", label, data)


def mp_str(text):
    data = text.encode("utf-8")
    return bytes([0xa0 | len(data)]) + data


def node_message():
    # First byte 0: a msgpack broadcast [uid, packet, opts]; 1: a JSON request (src/fuzzing/node_message.rs).
    packet = (b"\x83" + mp_str("type") + b"\x02" + mp_str("data") + b"\x92" + mp_str("hello") + mp_str("world")
              + mp_str("nsp") + mp_str("/"))
    opts = b"\x83" + mp_str("rooms") + b"\x91" + mp_str("lobby") + mp_str("flags") + b"\x80" + mp_str("except") + b"\x90"
    binary_packet = (b"\x83" + mp_str("type") + b"\x05" + mp_str("data") + b"\x92" + mp_str("file") + b"\xc4\x03\x01\x02\x03"
                     + mp_str("nsp") + mp_str("/chat"))
    int_room = b"\x83" + mp_str("rooms") + b"\x91\x07" + mp_str("except") + b"\x91\xcd\x01\x00" + mp_str("flags") + b"\x81" + mp_str("volatile") + b"\xc3"
    seeds = {
        "emit": b"\x00\x93" + mp_str("emitter") + packet + opts,
        "binary": b"\x00\x93" + mp_str("emitter") + binary_packet + opts,
        "int-rooms": b"\x00\x93" + mp_str("emitter") + packet + int_room,
        "own-uid": b"\x00\x93" + mp_str("iogate-fuzz") + packet + opts,
        "short": b"\x00\x92" + mp_str("emitter") + packet,
        "join": b'\x01{"type":2,"opts":{"rooms":["a"],"except":["b"]},"rooms":["c"]}',
        "disconnect-legacy": b'\x01{"type":4,"sid":"abc","close":true}',
        "counted": b'\x01{"type":0,"requestId":"x","uid":"y"}',
    }
    for label, data in seeds.items():
        write("node_message", label, data)


if __name__ == "__main__":
    for make in (h1_head, hook_response, hook_chunked, ws_frame, payload_v4, payload_v3, payload_v3_binary,
                 sio_packet, legacy_frame, legacy_message, query, forwarded, node_message):
        make()
