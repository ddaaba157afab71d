// The one kind of failure the qforget command expects: bad input (a flag, a file, a row of
// one). Its message names what is wrong and what to fix; the command prints it as one line
// and exits 1. Anything else thrown is a bug and keeps its stack.
export class InputError extends Error {
  name = 'InputError';
}
