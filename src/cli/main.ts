/**
 * The `cxr` command line. Each command lives in src/cli/commands/<name>.ts and only parses options, calls the
 * pipeline module that does the work, and prints the result: no pipeline logic here.
 */
import { Command } from 'commander';
import { COMMANDS } from './commands/index.ts';
import { runMain } from './errors.ts';

export function buildProgram(): Command {
  const program = new Command('cxr')
    .description(
      'Pneumoscope: pneumonia triage on chest X-rays (TensorFlow.js on WebAssembly).\n' +
        'Not a medical device: outputs are triage aids for trained readers, never a diagnosis.',
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .enablePositionalOptions();
  for (const register of COMMANDS) register(program);
  return program;
}

await runMain(async () => {
  await buildProgram().parseAsync(process.argv);
});
