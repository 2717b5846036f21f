#!/usr/bin/env python3
"""Writes the seed corpus of the libFuzzer targets into tests/fuzz/corpus/.

Run from anywhere: python3 tests/fuzz/make_corpus.py. It rewrites the files it
owns (named here) and leaves others alone. Seeds are small real inputs; the
fuzzers mutate copies of them (scripts/fuzz.sh), never these files.
"""
import bz2
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- fuzz_http
# 4 control bytes (see fuzz_http.cpp), then the client's bytes.
def http(name, stream, flags=0, seed=0, chunk=0):
    if isinstance(stream, str):
        stream = stream.encode("latin-1")
    write("fuzz_http", name, bytes([flags, seed & 0xFF, seed >> 8, chunk]) + stream)


GET = "GET /v2/pause/manifests/3.9 HTTP/1.1\r\nHost: registry.k8s.io\r\nUser-Agent: containerd/1.7\r\n\r\n"
http("get_v2", GET)
http("get_v2_bytewise", GET, seed=1, chunk=1)
http("get_v2_chunks", GET, seed=0x1234, chunk=17)
http("head_artifact", "HEAD /release/v1.31.0/bin/linux/amd64/kubectl HTTP/1.1\r\nHost: dl.k8s.io\r\n\r\n")
http("pipelined", GET + "HEAD /v2/ HTTP/1.1\r\nHost: r\r\n\r\n"
     "GET /v2/x/blobs/sha256:ab?ns=registry.k8s.io HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\nGET /late HTTP/1.1\r\n\r\n",
     seed=7, chunk=40)
http("pipelined_batch_33", "GET /v2/ HTTP/1.1\r\nHost: r\r\n\r\n" * 33)
http("http10", "GET /v2/ HTTP/1.0\r\n\r\n")
http("http10_keepalive", "GET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")
http("bare_lf", "GET /v2/ HTTP/1.1\nHost: r\n\n")
http("bare_lf_mixed", "GET /v2/ HTTP/1.1\r\nHost: r\n\r\n")
http("huge_header", "GET /v2/ HTTP/1.1\r\nHost: r\r\nX-Pad: " + "a" * 9000 + "\r\n\r\n")
http("huge_request_line", "GET /" + "b" * 9000 + " HTTP/1.1\r\nHost: r\r\n\r\n")
http("header_1024_limit", "GET /v2/ HTTP/1.1\r\nX-Pad: " + "c" * 1100 + "\r\n\r\n", flags=1)
http("many_fields", "GET /v2/ HTTP/1.1\r\n" + "".join("X-F%d: v\r\n" % i for i in range(120)) + "\r\n")
http("chunked_post", "POST /v2/x/blobs/uploads/ HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n")
http("chunked_get", "GET /v2/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n")
http("content_length_get", "GET /v2/ HTTP/1.1\r\nContent-Length: 27\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n")
http("cl_te", "GET / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
http("cl_twice", "GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
http("content_length_zero", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
http("delete_body", "DELETE /v2/x/manifests/y HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
http("options_star", "OPTIONS * HTTP/1.1\r\nHost: r\r\n\r\n")
http("absolute_form", "GET http://registry.k8s.io/v2/pause/manifests/3.9?x=1 HTTP/1.1\r\nHost: registry.k8s.io\r\n\r\n")
http("absolute_form_https_noslash", "GET HTTPS://registry.k8s.io?x HTTP/1.1\r\n\r\n")
http("authority_form", "CONNECT registry.k8s.io:443 HTTP/1.1\r\n\r\n")
http("http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
http("version_30", "GET / HTTP/3.0\r\n\r\n")
http("version_09", "GET /\r\n\r\n")
# obs-fold ("X-Real-Ip: a\r\n b") is in regressions/fuzz_http/ until the reader stops
# handing out views into Beast's dead parse_fields frame; then it belongs here too.
http("target_odd_bytes", b"GET /a\x80b%00c?d=\xff\x7f HTTP/1.1\r\n\r\n")
http("target_ctl", b"GET /a\x01b HTTP/1.1\r\n\r\n")
http("x_real_ip", "GET /v2/ HTTP/1.1\r\nX-Real-Ip: 203.0.113.9\r\n\r\n")
http("x_real_ip_twice", "GET /v2/ HTTP/1.1\r\nX-Real-Ip: 203.0.113.9\r\nx-real-ip: 198.51.100.1\r\n\r\n")
http("x_real_ip_untrusted", "GET /v2/ HTTP/1.1\r\nX-Real-Ip: 203.0.113.9\r\n\r\n", flags=0x80)
http("xff", "GET /v2/ HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n\r\n", flags=0x10)
http("xff_two_lines_hops2", "GET /v2/ HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 203.0.113.9,127.0.0.1\r\n\r\n",
     flags=0x50)
http("forwarded", 'GET /v2/ HTTP/1.1\r\nForwarded: for="[2001:db8:1::7]:443";proto=https, for=203.0.113.9\r\n\r\n',
     flags=0x20)
http("proxy_v1", "PROXY TCP4 203.0.113.9 10.0.0.1 51234 80\r\nGET /v2/ HTTP/1.1\r\n\r\n", flags=0x04)
http("proxy_v1_tcp6", "PROXY TCP6 2001:db8:1::7 2001:db8::1 51234 443\r\nGET / HTTP/1.1\r\n\r\n", flags=0x08, seed=3, chunk=9)
http("proxy_v1_unknown", "PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n\r\n", flags=0x08)
PPV2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
v2_inet = PPV2_SIG + bytes([0x21, 0x11]) + struct.pack(">H", 12) + bytes([203, 0, 113, 9, 10, 0, 0, 1]) + struct.pack(">HH", 51234, 80)
http("proxy_v2_inet", v2_inet + b"GET /v2/ HTTP/1.1\r\n\r\n", flags=0x08)
v2_inet6 = PPV2_SIG + bytes([0x21, 0x21]) + struct.pack(">H", 36 + 7) + bytes(range(32, 48)) + bytes(16) + \
    struct.pack(">HH", 1, 443) + bytes([0x04, 0x00, 0x04]) + b"abcd"  # a TLV
http("proxy_v2_inet6_tlv", v2_inet6 + b"GET / HTTP/1.1\r\n\r\n", flags=0x04)
http("proxy_v2_local", PPV2_SIG + bytes([0x20, 0x00, 0x00, 0x00]) + b"GET / HTTP/1.1\r\n\r\n", flags=0x08)
http("proxy_required_absent", GET, flags=0x08)

# ------------------------------------------------------- fuzz_prefix_table
write("fuzz_prefix_table", "pfx2asn_real",
      "# Reduced prefix -> origin-ASN table (pfx2asn format: PREFIX/LEN<TAB>ASN).\n"
      "1.12.0.0/14\t45090\n1.12.0.0/20\t45090\n1.12.0.0/20\t132203\n1.12.14.0/23\t45090\n"
      "3.5.140.0/22\t16509\n3.5.140.0/24\t16509\n34.64.0.0/10\t15169\n34.64.0.0/11\t396982\n"
      "13.107.42.0/24\t8075\n2600:1f18::/33\t16509\n2001:4860::/32\t15169\n")
write("fuzz_prefix_table", "pfx2asn_comments_crlf",
      "; IP-ASN32-DAT file\r\n; Converted on  : Thu Nov 19 19:03:21 2015\r\n\r\n"
      "203.0.113.0/24\tAS64500\r\n203.0.113.128/25 64501\r\n0.0.0.0/0\t1\r\n::/0\t2\r\n")
write("fuzz_prefix_table", "pfx2asn_holes",
      "10.0.0.0/8\t16509\n10.1.0.0/16\t65000\n10.1.2.0/24\t15169\n10.1.2.3/32\t64510\n"
      "192.0.2.0/25\t65001\n2001:db8::/32\t64511\n2001:db8:1::/48\t64500\n2001:db8:1::1/128\t0\n")
write("fuzz_prefix_table", "caida_multi_origin",
      "2001::\t32\t6939_1101_25192\n2001:4:112::\t48\t112\n2001:220::\t35\t17832_9270\n"
      "2001:2d8:d0::\t44\t9644_64540\n")
write("fuzz_prefix_table", "caida_as_set",
      "1.0.0.0\t24\t13335\n1.0.4.0\t22\t38803,56203\n1.0.5.0\t24\t38803_56203,4608\n"
      "203.0.113.0\t24\t64500_15169\n34.64.0.0\t10\t15169\n")
write("fuzz_prefix_table", "caida_v4_v6",
      "3.5.140.0\t22\t16509\n3.5.140.0\t24\t16509\n2600:1f18::\t33\t16509\n::ffff:0:0\t95\t1\n")
# More than 8 ranges in one /16 (lpm_table's second index level), alternating mirrors.
write("fuzz_prefix_table", "crowded_bucket_v4",
      "".join("10.7.%d.0/24\t%s\n" % (i * 3, "15169" if i % 2 else "16509") for i in range(12)) +
      "10.7.0.0/16\t64512\n10.7.9.128/25\t65000\n")
write("fuzz_prefix_table", "crowded_bucket_v6",
      "".join("2001:db8:%x::/48\t%s\n" % (i * 2, "15169" if i % 2 else "16509") for i in range(12)))
write("fuzz_prefix_table", "bad_host_bits", "10.0.0.1/8\t16509\n")
write("fuzz_prefix_table", "bad_mapped", "::ffff:1.2.3.0/120\t16509\n")
write("fuzz_prefix_table", "bad_asn", "10.0.0.0/8\t4294967296\n")
write("fuzz_prefix_table", "bad_fields", "10.0.0.0/8\t16509\textra\n")
write("fuzz_prefix_table", "long_line", "10.0.0.0/8\t16509" + " " * 300 + "\n")
write("fuzz_prefix_table", "mixed_formats", "10.0.0.0/8\t16509\n10.0.0.0\t8\t16509\n")
write("fuzz_prefix_table", "no_final_newline", "198.51.100.0/24\t15169")
write("fuzz_prefix_table", "only_comments", "# nothing\n;\n\n")
# A real slice of the shipped table (plain text, no gzip).
shipped = os.path.join(ROOT, "config", "prefixes", "provider-prefixes-20260619.pfx2asn.tsv.gz")
if os.path.exists(shipped):
    with gzip.open(shipped, "rt") as f:
        lines = [l for l in f if not l.startswith("#")]
    write("fuzz_prefix_table", "shipped_slice_v4", "".join(lines[1000:1060]))
    v6 = [l for l in lines if ":" in l.split("\t")[0]]
    write("fuzz_prefix_table", "shipped_slice_v6", "".join(v6[:40]))

# -------------------------------------------------------------- fuzz_config
for name in sorted(os.listdir(os.path.join(ROOT, "config", "asns"))):
    with open(os.path.join(ROOT, "config", "asns", name), "rb") as f:
        write("fuzz_config", "provider_" + name, f.read())
with open(os.path.join(ROOT, "config", "redirector.yaml"), "rb") as f:
    write("fuzz_config", "redirector.yaml", f.read())
write("fuzz_config", "provider_cidrs.yaml",
      "name: bigcloud\nredirectsTo:\n  registry: registry.bigcloud.example:5000\n  artifacts: artifacts.bigcloud.example.\n"
      "asns: [64500, 64500, 4294967294]\ncidrs: [192.0.2.0/24, \"2001:db8::/32\", 192.0.2.0/24]\n")
write("fuzz_config", "provider_flow.yaml", "{name: x, asns: [1, 2, 3]}\n")
write("fuzz_config", "provider_bad_asn.yaml", "name: google\nasns:\n  - 15169\n  - x\n")
write("fuzz_config", "main_full.yaml",
      "listen: \"[::]:8080\"\nadmin_listen: 127.0.0.1:0\nthreads: 4\nlog_level: debug\nproviders_dir: asns\n"
      "prefixes: [a.tsv, /abs/b.tsv.gz]\ndefault_provider: google\n"
      "trusted_proxies: [10.0.0.0/8, 127.0.0.1, \"::1\", \"2001:db8::/64\"]\n"
      "client_ip_headers: [X-Forwarded-For, forwarded, x-real-ip]\ntrusted_hops: 2\nproxy_protocol: optional\n"
      "limits:\n  max_connections: 1\n  header_timeout: 100ms\n  idle_timeout: 60m\n  write_timeout: 2s\n"
      "  max_requests_per_connection: 0\n  max_header_bytes: 65536\n"
      "shutdown_delay: 0s\nshutdown_timeout: 60m\naccess_log: json\n"
      "access_log_ipv4_prefix_length: 32\naccess_log_ipv6_prefix_length: 128\n")
write("fuzz_config", "main_anchors.yaml",
      "x: &a [1, 2]\nproviders_dir: *a\nprefixes: &p\n  - a\n  - b\n<<: {threads: 1}\n")
write("fuzz_config", "main_tags.yaml", "--- !!map\nproviders_dir: !!str d\nprefixes: !!seq [a]\nthreads: !!int 0x10\n...\n")
write("fuzz_config", "nested.yaml", "[" * 64 + "]" * 64 + "\n")
write("fuzz_config", "multidoc.yaml", "name: a\n---\nname: b\n")

# ----------------------------------------------------------- fuzz_client_ip
# 3 control bytes (peer, policy, hops), then lines.
def cip(name, text, peer=0, policy=3, hops=1):
    if isinstance(text, str):
        text = text.encode("latin-1")
    write("fuzz_client_ip", name, bytes([peer, policy, hops]) + text)


cip("real_ip", "R:203.0.113.9\n", policy=0)
cip("real_ip_blanks_v6", "R: \t2001:db8:1::7 \n", policy=0)
cip("real_ip_twice", "R:203.0.113.9\nR:198.51.100.1\n", policy=0)
cip("real_ip_untrusted", "R:203.0.113.9\n", peer=3, policy=0)
cip("xff", "X:6.6.6.6, 203.0.113.9\n", policy=1)
cip("xff_ports", "X:[2001:db8::1]:443, 203.0.113.9:51234\nX:198.51.100.1\n", policy=1, hops=2)
cip("xff_quotes", 'X:"1.1.1.1,2.2.2.2", 3.3.3.3\n', policy=1)
cip("forwarded", 'F:for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https;by=203.0.113.43\n', policy=2)
cip("forwarded_unknown", "F:for=unknown, for=_hidden\n", policy=2, hops=2)
cip("forwarded_escape", 'F:for="1.2.3.4\\"", for="5.6.7.8"\n', policy=2)
cip("all_headers", "R:1.1.1.1\nX:2.2.2.2\nF:for=3.3.3.3\n", policy=4, peer=8)
cip("many_lines", "".join("X:10.0.0.%d\n" % i for i in range(10)), policy=1)
cip("addresses", "::ffff:1.2.3.4\n1.2.3.4\n01.2.3.4\n1.2.3\n::1\nfe80::1%eth0\n2001:db8::\n"
    "::1.2.3.4\n1:2:3:4:5:6:7:8\n1::2::3\n255.255.255.255\n256.1.1.1\n", policy=7)
cip("prefixes", "10.0.0.0/8\n10.0.0.1/8\n2001:db8::/32\n::ffff:0:0/96\n::/0\n0.0.0.0/0\n1.2.3.4/32\n"
    "1.2.3.4/33\n1.2.3.0/024\n::/128\n", policy=7)
cip("proxy_v1", "PROXY TCP4 203.0.113.9 10.0.0.1 51234 80\r\nR:1.2.3.4\n")
cip("proxy_v1_tcp6", "PROXY TCP6 2001:db8:1::7 2001:db8::1 51234 443\r\n")
cip("proxy_v1_unknown", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")
cip("proxy_v1_bad_port", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n")
cip("proxy_v2_inet", v2_inet + b"GET / HTTP/1.1\r\n")
cip("proxy_v2_inet6_tlv", v2_inet6)
cip("proxy_v2_local", PPV2_SIG + bytes([0x20, 0x00, 0x00, 0x00]))
cip("proxy_v2_unix", PPV2_SIG + bytes([0x21, 0x31]) + struct.pack(">H", 216) + bytes(216))


# ----------------------------------------------------------------- fuzz_mrt
# 1 control byte (bit 0: allow_truncated), then an MRT file (RFC 6396).
def mrt_record(time, type_, subtype, body):
    return struct.pack(">IHHI", time, type_, subtype, len(body)) + body


def mrt_attr(type_, value):
    return bytes([0x40, type_, len(value)]) + value


def mrt_path(segments, size=4):
    out = b""
    for seg_type, asns in segments:
        out += bytes([seg_type, len(asns)]) + b"".join(struct.pack(">I" if size == 4 else ">H", a) for a in asns)
    return out


def mrt(name, data, allow_truncated=False):
    write("fuzz_mrt", name, bytes([1 if allow_truncated else 0]) + data)


mrt_peers = mrt_record(1, 13, 1, struct.pack(">IHH", 0xC0000201, 0, 2)
                       + bytes([2]) + struct.pack(">I", 1) + bytes([192, 0, 2, 1]) + struct.pack(">I", 64500)
                       + bytes([3]) + struct.pack(">I", 2) + bytes(16) + struct.pack(">I", 4200000001))
mrt_attrs = mrt_attr(1, b"\0") + mrt_attr(2, mrt_path([(2, [64500, 64501]), (1, [1, 2])]))
mrt_rib = mrt_record(1, 13, 2, struct.pack(">I", 0) + bytes([24, 198, 51, 100]) + struct.pack(">H", 1)
                     + struct.pack(">HIH", 0, 1, len(mrt_attrs)) + mrt_attrs)
mrt_rib6_addpath = mrt_record(1, 13, 10, struct.pack(">I", 0) + bytes([32, 0x20, 0x01, 0x0D, 0xB8])
                              + struct.pack(">H", 1) + struct.pack(">HIIH", 1, 1, 7, len(mrt_attrs)) + mrt_attrs)
mrt_as4 = mrt_attr(2, mrt_path([(2, [64500, 23456])], 2)) + mrt_attr(17, mrt_path([(2, [4200000005])]))
mrt_v1 = mrt_record(1, 12, 1, struct.pack(">HH", 0, 1) + bytes([192, 0, 2, 0, 24, 1]) + struct.pack(">I", 1)
                    + bytes([198, 51, 100, 1]) + struct.pack(">HH", 64500, len(mrt_as4)) + mrt_as4)
mrt_mp = (mrt_attr(14, struct.pack(">HBB", 2, 1, 16) + bytes(16) + b"\0" + bytes([48, 0x20, 0x01, 0x0D, 0xB8, 0, 0x30]))
          + mrt_attr(15, struct.pack(">HB", 2, 1) + bytes([32, 0x20, 0x01, 0x0D, 0xB8])))
mrt_update = (struct.pack(">H", 4) + bytes([24, 203, 0, 113]) + struct.pack(">H", len(mrt_attrs + mrt_mp))
              + mrt_attrs + mrt_mp + bytes([24, 192, 0, 2]))
mrt_message = b"\xff" * 16 + struct.pack(">HB", 19 + len(mrt_update), 2) + mrt_update
mrt_bgp4mp_head = struct.pack(">IIHH", 64500, 64999, 0, 1) + bytes([192, 0, 2, 9, 192, 0, 2, 10])
mrt("rib_v2", mrt_peers + mrt_rib + mrt_rib6_addpath)
mrt("rib_v2_gz", gzip.compress(mrt_peers + mrt_rib, mtime=0))
mrt("rib_v2_bz2_cut", bz2.compress(mrt_peers + mrt_rib)[:-10], allow_truncated=True)
mrt("table_dump_v1_as4", mrt_v1)
mrt("bgp4mp_update", mrt_record(1, 16, 4, mrt_bgp4mp_head + mrt_message)
    + mrt_record(1, 17, 4, struct.pack(">I", 5) + mrt_bgp4mp_head + mrt_message))
mrt("no_peer_table", mrt_rib)
