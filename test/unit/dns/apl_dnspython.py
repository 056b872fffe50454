# dnspython's view of APL records, for test/unit/dns-apl.test.ts: an encoder and decoder written
# independently of ours. Reads {"texts": [...], "wires": [hex, ...]} on stdin, writes JSON on stdout.
import json
import sys

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.wire

IN, APL = dns.rdataclass.IN, dns.rdatatype.APL


def from_text(text):
    rdata = dns.rdata.from_text(IN, APL, text)
    return {"wire": rdata.to_wire().hex(), "text": rdata.to_text()}


def from_wire(hexdata):
    data = bytes.fromhex(hexdata)
    try:
        rdata = dns.rdata.from_wire_parser(IN, APL, dns.wire.Parser(data, 0), None)
        return {"text": rdata.to_text()}
    except Exception as e:  # the test asserts which inputs dnspython refuses
        return {"error": type(e).__name__}


request = json.load(sys.stdin)
json.dump({"texts": [from_text(t) for t in request["texts"]],
           "wires": [from_wire(w) for w in request["wires"]]}, sys.stdout)
