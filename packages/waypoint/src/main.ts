import { parseCertsOptions, parseExplainOptions, parseRunOptions, parseValidateOptions, USAGE, type RunOptions } from './cli.ts';
import { explainCommand } from './explain-command.ts';
import { certsCommand } from './certs-command.ts';
import { run } from './run.ts';
import { validateCommand } from './validate-command.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'run': {
        const options = parseRunOptions(args, process.env);
        if (options === 'help') return (console.log(USAGE), 0);
        return await run(options, argv);
      }
      case 'worker': {
        // A worker process of `run --concurrency N`, started by the main process with its options.
        const options = JSON.parse(process.env.WAYPOINT_WORKER_OPTIONS ?? 'null') as RunOptions | null;
        if (!options) return (console.error('waypoint worker: started without WAYPOINT_WORKER_OPTIONS; use `waypoint run --concurrency N`'), 2);
        return await run(options, argv, Number(process.env.WAYPOINT_WORKER ?? '1'));
      }
      case 'validate': {
        const options = parseValidateOptions(args, process.env);
        if (options === 'help') return (console.log(USAGE), 0);
        return validateCommand(options.configPaths, options.namespace, (line) => console.log(line));
      }
      case 'explain': {
        const options = parseExplainOptions(args, process.env);
        if (options === 'help') return (console.log(USAGE), 0);
        return explainCommand(options, (line) => console.log(line));
      }
      case 'certs': {
        const options = parseCertsOptions(args);
        if (options === 'help') return (console.log(USAGE), 0);
        return await certsCommand(options, (line) => console.log(line));
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`waypoint: unknown command ${JSON.stringify(command)}\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    console.error(`waypoint ${command}: ${(e as Error).message}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
if (process.argv[2] === 'run' || process.argv[2] === 'worker') process.exit();
