import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An account of `accounts` auth mode. Only a salted scrypt hash of the password is kept. Times are epoch ms. */
@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn('increment')
  id: number;

  @Index('idx_users_name', { unique: true })
  @Column('varchar', { length: 255 })
  name: string;

  /** PHC string, e.g. `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (see PasswordHasher). */
  @Column('varchar', { name: 'password_hash', length: 255 })
  passwordHash: string;

  @Column('integer', { name: 'created_at' })
  createdAt: number;

  @Column('integer', { name: 'updated_at' })
  updatedAt: number;
}
