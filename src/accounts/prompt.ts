// Terminal prompts for the account commands (createsuperuser, changepassword), on node:readline.
// On a terminal, passwords are typed without echo. When stdin is a pipe (scripts, tests), answers
// are read line by line from it.
import { createInterface, type Interface } from "node:readline";
import { Writable } from "node:stream";

export class Prompter {
  private rl: Interface;
  private muted = false;
  private queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  readonly interactive: boolean;

  constructor(
    input: NodeJS.ReadStream = process.stdin,
    private output: NodeJS.WriteStream = process.stderr,
  ) {
    this.interactive = !!input.isTTY;
    const sink = new Writable({
      write: (chunk, _enc, cb) => {
        if (!this.muted) output.write(chunk);
        cb();
      },
    });
    this.rl = createInterface({ input, output: sink, terminal: this.interactive });
    this.rl.on("line", (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(line);
      } else this.queue.push(line);
    });
    this.rl.on("close", () => {
      this.closed = true;
      this.waiting?.(null);
      this.waiting = null;
    });
  }

  private nextLine(): Promise<string | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Asks a question; null when the input ended (Ctrl-D / end of pipe). */
  async ask(question: string, opts: { hidden?: boolean } = {}): Promise<string | null> {
    this.output.write(question);
    this.muted = !!opts.hidden && this.interactive;
    try {
      const line = await this.nextLine();
      if (opts.hidden && this.interactive) this.output.write("\n");
      return line;
    } finally {
      this.muted = false;
    }
  }

  close(): void {
    this.rl.close();
  }
}
