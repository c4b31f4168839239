import { Question, QuestionSet, ValidateFor } from 'nest-commander';

/** Name of the question set that asks for a new password twice (`stepd users add/passwd` on a terminal). */
export const NEW_PASSWORD_QUESTIONS = 'new-password';

/** Answers of the new-password prompt. */
export interface NewPasswordAnswers {
  password: string;
  confirm: string;
}

/** The password prompt, typed twice and masked, so it never lands in shell history or `ps`. */
@QuestionSet({ name: NEW_PASSWORD_QUESTIONS })
export class NewPasswordQuestions {
  /** The password itself. */
  @Question({ type: 'password', name: 'password', message: 'Password:', mask: '*' })
  parsePassword(value: string): string {
    return value;
  }

  /** The same again. */
  @Question({ type: 'password', name: 'confirm', message: 'Repeat password:', mask: '*' })
  parseConfirm(value: string): string {
    return value;
  }

  /** The repetition has to match. */
  @ValidateFor({ name: 'confirm' })
  validateConfirm(value: string, answers: NewPasswordAnswers): true | string {
    return value === answers.password ? true : 'The passwords do not match.';
  }
}
