// Opens the addon's NativePort directly, skipping XdpPort.open's capability check, and prints one
// JSON line: { ok } or the error. test/netns/capabilities.test.ts runs it under setpriv to show
// that the kernel itself refuses without each capability the check asks for.
// argv[2]: the interface; argv[3]: frame count (default: XdpPort's default).
import { native, steerObjectPath } from '../../../dist/src/native.js';
import { resolveOptions } from '../../../dist/src/xdp/options.js';

const [ifname, frames] = process.argv.slice(2);
const open = { interface: ifname, ...(frames === undefined ? {} : { frameCount: Number(frames) }) };
const { capture: _capture, ...options } = resolveOptions(open, (name) => native().rxQueueCount(name));
let port;
try {
  port = new (native().NativePort)({ ...options, bpfObjectPath: steerObjectPath });
  port.close();
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: error.code, errno: error.errno, syscall: error.syscall, message: error.message })}\n`);
}
