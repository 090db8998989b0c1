-- AlterTable
ALTER TABLE "User" ADD COLUMN     "emailVerifiedAt" TIMESTAMPTZ(6);

-- Accounts that exist before e-mail verification was introduced were made by an admin, the seed or a
-- sign-up that sent its welcome mail to the address: they count as verified.
UPDATE "User" SET "emailVerifiedAt" = "dateJoined" WHERE "emailVerifiedAt" IS NULL;
