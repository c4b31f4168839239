import { CompletionFactory } from 'nest-commander';

/** Shells `step completion SHELL` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
/** One of COMPLETION_SHELLS. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/**
 * Shell completion from nest-commander. Its hidden `completion` command answers the generated
 * script's requests (`step completion step upload --bl`); a user's `step completion bash|zsh`
 * prints the script itself instead (nest-commander would pick the shell from $SHELL).
 */
export class StepCompletion extends CompletionFactory {
  /**
   * Adds the hidden completer to `root`. nest-commander's own `completion` option adds it to a
   * program that a @RootCommand replaces, where it is never reached.
   */
  static attach(root: Parameters<typeof CompletionFactory.setupNativeShellCompletion>[0]): void {
    this.setupNativeShellCompletion(root, 'step', 'step');
    // The words being completed include half-typed options (`--bl`): they are data, not options.
    root.commands.find((command) => command.name() === 'completion')?.allowUnknownOption();
  }

  /** The completion script for `shell`, calling `step` on the PATH. */
  static script(shell: CompletionShell): string {
    return this.generateCompletionScript('step', 'step', `completion ${shell}`, shell === 'zsh');
  }

  /** The shell when `args` (after the program name) ask for a script: exactly `completion bash|zsh`. */
  static requestedScript(args: string[]): CompletionShell | null {
    if (args.length !== 2 || args[0] !== 'completion') return null;
    return (COMPLETION_SHELLS as readonly string[]).includes(args[1]) ? (args[1] as CompletionShell) : null;
  }
}
