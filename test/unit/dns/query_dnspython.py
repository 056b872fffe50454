# Asks a DNS server for one name's APL record with dnspython, over UDP and over TCP, for
# test/unit/dns-responder.test.ts. Usage: query_dnspython.py HOST PORT NAME; prints JSON.
import json
import sys

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
result = {}
for transport, send in (("udp", dns.query.udp), ("tcp", dns.query.tcp)):
    response = send(dns.message.make_query(name, dns.rdatatype.APL), host, port=port, timeout=5)
    result[transport] = {
        "rcode": dns.rcode.to_text(response.rcode()),
        "aa": bool(response.flags & dns.flags.AA),
        "apl": [rdata.to_text() for rrset in response.answer for rdata in rrset],
    }
json.dump(result, sys.stdout)
