import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's nginx, which scripts/ensure-nginx.sh installs. */
export const NGINX = "/usr/sbin/nginx";

/** Whether nginx is installed (the Makefile's vitest target installs it; a bare `npx vitest` may not have). */
export const hasNginx = existsSync(NGINX);

/** A running nginx serving `root` on a loopback port. */
export interface NginxServer {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The folder it serves. */
  readonly root: string;
  stop(): Promise<void>;
}

/** A free loopback port, as the kernel picks one for port 0. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts nginx in the foreground (a child process, one process: no daemon, no master) with a
 * generated config in a temp folder, serving `root` as static files with nginx's own ETags.
 * Under `/secure/` it answers 401 unless `Authorization: Bearer <token>` is sent; `/moved/X`
 * redirects to `/X`; `/html/X` serves X as text/html.
 */
export async function startNginx(root: string, token = "s3cret-token"): Promise<NginxServer> {
  const dir = mkdtempSync(join(tmpdir(), "pk-nginx-"));
  mkdirSync(join(dir, "tmp"));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = `daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  types { application/gzip gz; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location /secure/ {
      if ($http_authorization != "Bearer ${token}") { return 401; }
    }
    location /moved/ {
      rewrite ^/moved/(.*)$ /$1 redirect;
    }
    location /html/ {
      types { }
      default_type text/html;
      rewrite ^/html/(.*)$ /$1 break;
    }
    location /broken/ {
      return 500;
    }
  }
}
`;
    writeFileSync(join(dir, "nginx.conf"), config);
    const child = spawn(NGINX, ["-c", join(dir, "nginx.conf"), "-p", dir, "-e", join(dir, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
    const up = await waitForPort(port, child);
    if (up) {
      return {
        origin: `http://127.0.0.1:${port}`,
        root,
        stop: () => stopChild(child),
      };
    }
    await stopChild(child);
    if (attempt >= 3) throw new Error(`nginx did not start: ${safeRead(join(dir, "error.log"))}`);
  }
}

/** True once `port` accepts a connection; false when the child exits first (the port was taken). */
async function waitForPort(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "(no error log)";
  }
}
