/** What Compose accepts as a project name; tta uses the same rule everywhere a name is given. */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/

export function isValidProjectName(name: string): boolean {
  return PROJECT_NAME.test(name)
}
