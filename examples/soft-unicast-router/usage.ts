// The router binary's --help text: every flag, command, signal and exit status. cli.ts exports
// it; a unit test checks that every flag cli.ts knows is in it.
import { SLICES_USAGE } from './slices-cli.js';

export const PROGRAM = 'soft-unicast-router';

export const USAGE = `Usage: ${PROGRAM} --config FILE [--host NAME] [options]     run the router
       ${PROGRAM} --etcd URL --prefix PREFIX [--host NAME] [options]   ... from etcd
       ${PROGRAM} --config FILE [--host NAME] --check [--json]  validate, print the table
       ${PROGRAM} COMMAND [ARGUMENTS] [--host NAME | --socket PATH] [--json]
       ${PROGRAM} slices list|move|split|load ... --etcd URL --prefix PREFIX
       ${PROGRAM} --version | --help

Runs the soft-unicast router of one server: attaches to the interface the configuration file
gives that server, steers packets of shared addresses by port slice, and reloads the file on
SIGHUP and when it changes. With --etcd it reads the deployment from etcd instead, follows
every change there (the revision is the table's source generation) and keeps forwarding with
its last table while etcd is unreachable.

Options when running:
  --config FILE              the configuration file (.yaml, .yml or .json)
  --etcd URL[,URL...]        read the deployment from etcd instead: its client URLs
                             (http://HOST:PORT; the v3 JSON gateway on the client port)
  --prefix PREFIX            the deployment's key prefix in etcd, e.g. /softunicast/prod
  --host NAME                the server of the file this router runs on
                             (default: this machine's host name)
  --check                    validate the whole file and print this server's compiled table;
                             touches no interface, needs no privileges
  --json                     machine output: one JSON document for --check and the commands,
                             one JSON object a line per stats interval when running
  --stats-interval SECONDS   seconds between stats lines (default: the file's
                             stats.intervalSeconds, else 5)
  --prometheus ADDR:PORT     serve Prometheus text at http://ADDR:PORT/metrics; loopback only,
                             e.g. 127.0.0.1:9464, [::1]:9464 or a port alone (default: the
                             file's stats.prometheus, else off)
  --no-watch                 reload on SIGHUP only, not when the file (or etcd) changes
  --log-format text|json     the log on stderr: text lines (default) or one JSON object a line;
                             every line carries its time and level
  --socket PATH              the control socket (mode 0600) the commands below talk to
                             (default: /run/softunicast/HOST.sock)
  --capture-drops FILE       write every packet the fast path drops to FILE (pcapng, the drop's
                             reason as each packet's comment) from the start
  --capture-seconds N        stop that capture after N seconds (default 60)
  --capture-max-bytes N      stop it before FILE grows past N bytes (default 67108864)
  --lane auto|afxdp          auto (default): the XDP program finishes every packet it can in
                             the kernel (delivery, forwarding, GUE), the AF_XDP workers the
                             rest; afxdp: the workers forward and drop everything
  --pin-dir DIR              pin the XDP program, its link and its tables in DIR (a bpf
                             filesystem; default /sys/fs/bpf/softunicast/HOST/INTERFACE): they stay
                             on the interface when the router exits or dies, the kernel keeps
                             forwarding, and the next start takes them over
  --no-pin                   pin nothing: the XDP program leaves the interface with the router
  --detach                   remove what a router pinned on this server's interface (the XDP
                             program leaves it) and exit
  --version                  print the version and exit
  --help                     show this text

Commands for a running router (over its control socket):
  owner ADDRESS tcp|udp PORT     the slice and owner of that destination in the live table,
                                 the table's generation and that owner's counters
  explain HEX [HEX...]           what the fast path does with each Ethernet frame (hex digits)
  explain --pcap FILE            the same for every frame of a pcap or pcapng file
  stats                          every counter, as JSON
  capture-drops start FILE [--seconds N] [--max-bytes N] [--max-packets N] [--snaplen N]
  capture-drops stop | status    stop the running drop capture, or show it
  health                         peer health: each probed owner, up or down, and where its
                                 slices go
  health OWNER up|down|auto      set an owner down (its slices go to its fallback) or up,
                                 over what the probes say; auto hands it back to them

${SLICES_USAGE}

Signals:
  SIGHUP                     reload the configuration file, or read etcd whole again (a bad
                             deployment keeps the running table)
  SIGINT, SIGTERM            stop and exit 0: the pinned XDP program keeps forwarding until
                             the next start (with --no-pin it leaves the interface); a second
                             signal exits at once

Exit status: 0 success (and --check: the file is valid), 1 an invalid file or a failure,
2 a bad command line, 3 (slices move, split) another writer changed the slice first.`;
