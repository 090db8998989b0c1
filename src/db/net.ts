import net from "node:net";

/** A TCP port that was free on 127.0.0.1 a moment ago (for throwaway servers: tests, bench). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => done(port));
    });
    srv.on("error", fail);
  });
}
