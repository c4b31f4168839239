/** The user name is taken (HTTP 409, CLI exit 1). */
export class UserExistsError extends Error {
  constructor(readonly username: string) {
    super(`user "${username}" already exists`);
    this.name = 'UserExistsError';
  }
}

/** No such user (HTTP 404, CLI exit 1). */
export class UserNotFoundError extends Error {
  constructor(readonly username: string) {
    super(`user "${username}" does not exist`);
    this.name = 'UserNotFoundError';
  }
}
